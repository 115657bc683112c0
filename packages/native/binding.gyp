{
  "targets": [
    {
      "target_name": "evloop_native",
      "sources": [
        "src/native/addon.c",
        "src/native/common.c",
        "src/native/uv-poller.c",
        "src/native/fd-waiter.c",
        "src/native/descriptors.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS!='win'", {
          "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
          "xcode_settings": {
            "GCC_C_LANGUAGE_STANDARD": "gnu11",
            "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        }]
      ]
    }
  ]
}
