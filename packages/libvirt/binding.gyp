{
  "targets": [
    {
      "target_name": "evloop_libvirt",
      "sources": [
        "src/native/addon.c",
        "src/native/event-impl.c",
        "src/native/connection.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden", "<!@(pkg-config --cflags libvirt)"],
      "libraries": ["<!@(pkg-config --libs libvirt)", "-lpthread"]
    }
  ]
}
