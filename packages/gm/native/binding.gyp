{
  'targets': [
    {
      'target_name': 'yiqian_gm',
      'sources': ['sm2.c', 'sm2p256.c'],
      # No libraries: libcrypto's symbols are resolved from the node executable at load time, so the addon uses
      # the very OpenSSL node runs (its headers come with node's own: <nodedir>/include/node/openssl).
      'cflags': ['-O2', '-Wall', '-Wextra', '-std=c11'],
      'xcode_settings': { 'OTHER_CFLAGS': ['-O2', '-Wall', '-Wextra', '-std=c11'] },
    },
  ],
}
