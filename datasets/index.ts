// The datasets package as the trainer and the CLI see it.
export { type Augmentation } from './augmentation.ts';
export { datasetFolder, resolveDataDir } from './dataDir.ts';
export { downloadDataset, type DownloadOptions } from './download.ts';
export type { ImageSet, Split } from './imageSet.ts';
export { channelMeans, labelHistogram } from './imageStats.ts';
export { type Batch, DataLoader, type LoaderOptions } from './loader.ts';
export { DATASETS, datasetSpec, type DatasetSpec } from './registry.ts';
