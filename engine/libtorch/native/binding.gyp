{
  "targets": [
    {
      "target_name": "sqakd_libtorch",
      "sources": ["<!@(node -e \"for (const f of require('fs').readdirSync('src').sort()) if (f.endsWith('.cc')) console.log('src/' + f)\")"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O3", "-ffp-contract=off", "-fno-trapping-math", "-fopenmp-simd", "<!@(node find-libtorch.mjs cflags)"],
      "ldflags": ["<!@(node find-libtorch.mjs ldflags)"],
      "libraries": ["<!@(node find-libtorch.mjs libs)"]
    }
  ]
}
