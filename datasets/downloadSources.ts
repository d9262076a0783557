// Where each dataset's official files are published, with the md5 of each file as published.
export interface RemoteFile {
  /** The file name, saved under the data directory (or under `into`). */
  file: string;
  /** Mirrors, tried in order. */
  urls: string[];
  md5: string;
  /** A subfolder of the data directory the file is saved in (e.g. mnist/ for the IDX files). */
  into?: string;
  /** Archives are extracted into the data directory, then deleted. */
  archive?: 'tar.gz' | 'zip';
}

export interface DownloadSource {
  /** The folder under the data directory that exists once the download is complete. */
  folder: string;
  files: RemoteFile[];
}

const TORONTO = 'https://www.cs.toronto.edu/~kriz';
const MNIST_MIRRORS = ['https://ossci-datasets.s3.amazonaws.com/mnist', 'http://yann.lecun.com/exdb/mnist'];
const FASHION = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com';

function idxFiles(mirrors: string[], into: string, md5: Record<string, string>): RemoteFile[] {
  return Object.entries(md5).map(([file, sum]) => ({ file, urls: mirrors.map((m) => `${m}/${file}`), md5: sum, into }));
}

const TINY: DownloadSource = {
  folder: 'tiny-imagenet-200',
  files: [{
    file: 'tiny-imagenet-200.zip', urls: ['http://cs231n.stanford.edu/tiny-imagenet-200.zip'],
    md5: '90528d7ca1a48142e341f4ef8d21d0de', archive: 'zip',
  }],
};

/** Download sources by dataset name (the built-in synthetic set has none). */
export const DOWNLOAD_SOURCES: Record<string, DownloadSource> = {
  cifar10: {
    folder: 'cifar-10-batches-bin',
    files: [{
      file: 'cifar-10-binary.tar.gz', urls: [`${TORONTO}/cifar-10-binary.tar.gz`],
      md5: 'c32a1d4ab5d03f1284b67883e8d87530', archive: 'tar.gz',
    }],
  },
  cifar100: {
    folder: 'cifar-100-binary',
    files: [{
      file: 'cifar-100-binary.tar.gz', urls: [`${TORONTO}/cifar-100-binary.tar.gz`],
      md5: '03b5dce01913d631647c71ecec9e9cb8', archive: 'tar.gz',
    }],
  },
  mnist: {
    folder: 'mnist',
    files: idxFiles(MNIST_MIRRORS, 'mnist', {
      'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
      't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
      't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
    }),
  },
  'fashion-mnist': {
    folder: 'fashion-mnist',
    files: idxFiles([FASHION], 'fashion-mnist', {
      'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
      't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
      't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
    }),
  },
  'tiny-imagenet': TINY,
  'tiny-imagenet-224': TINY,
};
