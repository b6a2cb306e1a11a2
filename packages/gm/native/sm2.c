/*
 * SM2 scalar multiplication for Node.js.
 *
 * The default exports run on the specialised SM2 arithmetic of sm2p256.c (4x64-bit Montgomery field, complete
 * Renes-Costello-Batina formulas), which is several times faster than OpenSSL 3.0's generic BIGNUM code for this
 * curve. The OpenSSL versions stay exported (openssl*) for differential tests, and become the default exports
 * when the compiler has no unsigned __int128 (sm2p256.h then defines nothing).
 *
 * The addon links nothing: node exports libcrypto's symbols, so EC_POINT_mul and friends resolve against the
 * process at load time. That keeps one OpenSSL in the process (no version skew with node's own crypto) and makes
 * the build need only node's headers.
 *
 * Exports (all synchronous; every buffer is a Uint8Array of exactly the stated size, big-endian):
 *   mulBase(k[32])                -> point[65]          k·G, constant-time (fixed-base comb, masked lookups)
 *   mul(k[32], point[65])         -> point[65]          k·P, constant-time (fixed 4-bit window, masked lookups)
 *   mulAdd(s[32], t[32], P)       -> point[65] | null   s·G + t·P, variable-time: s and t must be public
 *   mulBasePlusMul(a, b, P)       -> point[65] | null   a·G + b·P, constant-time in a and b
 *   opensslMulBase, opensslMul, opensslMulAdd, opensslMulBasePlusMul: the same on OpenSSL's EC_POINT_mul
 *                                 (Montgomery ladder for the secret-scalar ones, wNAF for opensslMulAdd)
 *   sm3(data)                     -> digest[32]         SM3 through EVP_Digest (cached EVP_MD, reused EVP_MD_CTX)
 *   arithmetic                    'sm2p256' or 'openssl': what the default exports run on
 *   opensslVersion                string
 * Points are uncompressed SEC 1 (04‖x‖y); null stands for the point at infinity. Scalars must lie in [1, n-1].
 * Errors are thrown as JS Errors whose `code` is INVALID_KEY, INVALID_POINT or INVALID_ARGUMENT (wrong type),
 * or INTERNAL for an OpenSSL failure that valid input cannot cause (allocation).
 *
 * See README.md for why the secret-scalar calls are constant-time.
 */
#define NAPI_VERSION 8
/* EC_GROUP_method_of/EC_GFp_mont_method are deprecated in 3.0 but are the only way to assert, at load time, that
 * the group runs on the generic Montgomery method whose ladder we reviewed (see check_method below). */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <node_api.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sm2p256.h"

#define SCALAR_LEN 32
#define POINT_LEN 65

typedef struct {
  EC_GROUP *group;
  /* One BN_CTX per Node environment (main thread or worker): calls are synchronous on that environment's
   * thread, EC_POINT_mul brackets its use with BN_CTX_start/end, so reuse saves an allocation per call. */
  BN_CTX *ctx;
  /* Group order n, big-endian, for the constant-time range check of scalars. */
  uint8_t order[SCALAR_LEN];
  /* SM3 for sm3(): the fetched EVP_MD and one reusable EVP_MD_CTX (calls are synchronous on this environment's
   * thread). NULL when this OpenSSL has no SM3; sm3 is then not exported. */
  EVP_MD *sm3;
  EVP_MD_CTX *sm3_ctx;
#ifdef YIQIAN_SM2P256
  /* Multiples of G for the specialised arithmetic (sm2p256.c), computed once per environment at load. */
  sm2p256_precomp *pre;
#endif
} sm2_state;

static void free_state(void *arg) {
  sm2_state *st = arg;
  EVP_MD_CTX_free(st->sm3_ctx);
  EVP_MD_free(st->sm3);
  BN_CTX_free(st->ctx);
  EC_GROUP_free(st->group);
#ifdef YIQIAN_SM2P256
  free(st->pre);
#endif
  free(st);
}

static napi_value fail(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

/* 1 when 0 < k < n, else 0, in time independent of k: k is usually a private key or nonce, and a BN_cmp would
 * return as soon as a word differs. */
static int scalar_in_range(const sm2_state *st, const uint8_t *k) {
  uint32_t borrow = 0;
  uint32_t any = 0;
  for (int i = SCALAR_LEN - 1; i >= 0; i--) {
    uint32_t d = (uint32_t)k[i] - (uint32_t)st->order[i] - borrow;
    borrow = d >> 31; /* d wrapped below zero */
    any |= k[i];
  }
  /* borrow is 1 iff k < n; (any + 0xff) >> 8 is 1 iff some byte is non-zero */
  return (int)(borrow & ((any + 0xffu) >> 8));
}

/* 1 with the data and length of `value` when it is a Uint8Array, else 0 (nothing thrown). */
static int get_uint8_array(napi_env env, napi_value value, void **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  return napi_is_typedarray(env, value, &is_typed) == napi_ok && is_typed &&
         napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) == napi_ok &&
         type == napi_uint8_array;
}

/* The bytes of a Uint8Array of exactly `len` bytes, or NULL with a pending exception. */
static const uint8_t *get_bytes(napi_env env, napi_value value, size_t len, const char *code, const char *what) {
  size_t length = 0;
  void *data = NULL;
  if (!get_uint8_array(env, value, &data, &length)) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", what);
    return NULL;
  }
  if (length != len) {
    napi_throw_error(env, code, what);
    return NULL;
  }
  /* A zero-length view may have a NULL data pointer; len is never 0 here, so data is valid. */
  return data;
}

static const uint8_t *get_scalar(napi_env env, const sm2_state *st, napi_value value) {
  const uint8_t *k = get_bytes(env, value, SCALAR_LEN, "INVALID_KEY", "scalar must be a 32-byte Uint8Array");
  if (k == NULL) return NULL;
  if (!scalar_in_range(st, k)) {
    napi_throw_error(env, "INVALID_KEY", "scalar must be in [1, n-1]");
    return NULL;
  }
  return k;
}

/* A new BIGNUM holding k. Secret scalars get BN_FLG_CONSTTIME and the secure heap (when node runs with
 * --secure-heap; otherwise BN_secure_new is plain BN_new), and are freed with BN_clear_free. */
static BIGNUM *scalar_to_bn(const uint8_t *k, int secret) {
  BIGNUM *bn = secret ? BN_secure_new() : BN_new();
  if (bn == NULL) return NULL;
  if (secret) BN_set_flags(bn, BN_FLG_CONSTTIME);
  if (BN_bin2bn(k, SCALAR_LEN, bn) == NULL) {
    BN_clear_free(bn);
    return NULL;
  }
  return bn;
}

/* Decodes and validates an uncompressed point. Only 04‖x‖y is accepted: EC_POINT_oct2point would also take
 * compressed (02/03), hybrid (06/07) and the one-byte infinity (00) encodings. For 04 it rejects coordinates >= p
 * and, through EC_POINT_set_affine_coordinates, points that are not on the curve. */
static EC_POINT *decode_point(napi_env env, const sm2_state *st, napi_value value) {
  const uint8_t *bytes =
      get_bytes(env, value, POINT_LEN, "INVALID_POINT", "point must be a 65-byte uncompressed point (04||x||y)");
  if (bytes == NULL) return NULL;
  if (bytes[0] != 0x04) {
    napi_throw_error(env, "INVALID_POINT", "point must be uncompressed (04||x||y)");
    return NULL;
  }
  EC_POINT *point = EC_POINT_new(st->group);
  if (point == NULL) {
    napi_throw_error(env, "INTERNAL", "out of memory");
    return NULL;
  }
  if (!EC_POINT_oct2point(st->group, point, bytes, POINT_LEN, st->ctx)) {
    EC_POINT_free(point);
    napi_throw_error(env, "INVALID_POINT", "point is not on the SM2 curve or has a coordinate >= p");
    return NULL;
  }
  if (EC_POINT_is_at_infinity(st->group, point)) {
    EC_POINT_free(point);
    napi_throw_error(env, "INVALID_POINT", "point at infinity");
    return NULL;
  }
  return point;
}

/* Encodes r as a new 65-byte Buffer, or null for infinity when allowed. */
static napi_value encode_point(napi_env env, const sm2_state *st, const EC_POINT *r, int infinity_ok) {
  napi_value result;
  if (EC_POINT_is_at_infinity(st->group, r)) {
    if (!infinity_ok) return fail(env, "INTERNAL", "unexpected point at infinity");
    napi_get_null(env, &result);
    return result;
  }
  void *data = NULL;
  if (napi_create_buffer(env, POINT_LEN, &data, &result) != napi_ok) return NULL;
  if (EC_POINT_point2oct(st->group, r, POINT_CONVERSION_UNCOMPRESSED, data, POINT_LEN, st->ctx) != POINT_LEN) {
    return fail(env, "INTERNAL", "EC_POINT_point2oct failed");
  }
  return result;
}

static sm2_state *get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  if (argc < want) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "missing argument");
    return NULL;
  }
  return data;
}

/* get_args, then the first n_scalars arguments validated as scalars into scalars[]. NULL with a pending exception
 * when an argument is missing or a scalar is invalid. */
static sm2_state *get_scalar_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, size_t n_scalars,
                                  const uint8_t **scalars) {
  sm2_state *st = get_args(env, info, want, argv);
  if (st == NULL) return NULL;
  for (size_t i = 0; i < n_scalars; i++) {
    scalars[i] = get_scalar(env, st, argv[i]);
    if (scalars[i] == NULL) return NULL;
  }
  return st;
}

/* g·G + q·P through one EC_POINT_mul (gb or p and qb may be NULL), encoded as a point. Secret scalars get the
 * constant-time BIGNUM treatment of scalar_to_bn. */
static napi_value openssl_ec_mul(napi_env env, const sm2_state *st, const uint8_t *gb, const EC_POINT *p,
                                 const uint8_t *qb, int secret, int infinity_ok) {
  napi_value result = NULL;
  BIGNUM *g = gb != NULL ? scalar_to_bn(gb, secret) : NULL;
  BIGNUM *q = qb != NULL ? scalar_to_bn(qb, secret) : NULL;
  EC_POINT *r = EC_POINT_new(st->group);
  if ((gb != NULL && g == NULL) || (qb != NULL && q == NULL) || r == NULL ||
      !EC_POINT_mul(st->group, r, g, p, q, st->ctx)) {
    fail(env, "INTERNAL", "EC_POINT_mul failed");
  } else {
    result = encode_point(env, st, r, infinity_ok);
  }
  BN_clear_free(g);
  BN_clear_free(q);
  EC_POINT_clear_free(r);
  return result;
}

/* k·G. With a single generator scalar, EC_POINT_mul in OpenSSL 3.0 takes ossl_ec_scalar_mul_ladder. */
static napi_value openssl_mul_base(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  const uint8_t *k[1];
  sm2_state *st = get_scalar_args(env, info, 1, argv, 1, k);
  if (st == NULL) return NULL;
  ERR_set_mark();
  napi_value result = openssl_ec_mul(env, st, k[0], NULL, NULL, 1, 0);
  ERR_pop_to_mark(); /* leave node's OpenSSL error queue as we found it */
  return result;
}

/* k·P. With a single point scalar and no generator scalar, EC_POINT_mul takes ossl_ec_scalar_mul_ladder. */
static napi_value openssl_mul_point(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  const uint8_t *k[1];
  sm2_state *st = get_scalar_args(env, info, 2, argv, 1, k);
  if (st == NULL) return NULL;
  napi_value result = NULL;
  ERR_set_mark();
  EC_POINT *p = decode_point(env, st, argv[1]);
  if (p != NULL) {
    result = openssl_ec_mul(env, st, NULL, p, k[0], 1, 0);
    EC_POINT_free(p);
  }
  ERR_pop_to_mark();
  return result;
}

/* a·G + b·P for SECRET a, b (the server step of two-party signing): two constant-time ladders, one addition,
 * one conversion to affine coordinates. Never the interleaved wNAF of mul_add, which is variable-time. */
static napi_value openssl_mul_base_plus_mul(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  const uint8_t *scalars[2];
  sm2_state *st = get_scalar_args(env, info, 3, argv, 2, scalars);
  if (st == NULL) return NULL;
  const uint8_t *ab = scalars[0], *bb = scalars[1];
  napi_value result = NULL;
  ERR_set_mark();
  EC_POINT *p = decode_point(env, st, argv[2]);
  if (p != NULL) {
    BIGNUM *a = scalar_to_bn(ab, 1);
    BIGNUM *b = scalar_to_bn(bb, 1);
    EC_POINT *ag = EC_POINT_new(st->group);
    EC_POINT *bp = EC_POINT_new(st->group);
    if (a == NULL || b == NULL || ag == NULL || bp == NULL || !EC_POINT_mul(st->group, ag, a, NULL, NULL, st->ctx) ||
        !EC_POINT_mul(st->group, bp, NULL, p, b, st->ctx) || !EC_POINT_add(st->group, ag, ag, bp, st->ctx)) {
      fail(env, "INTERNAL", "EC_POINT_mul failed");
    } else {
      result = encode_point(env, st, ag, 1);
    }
    BN_clear_free(a);
    BN_clear_free(b);
    EC_POINT_clear_free(ag);
    EC_POINT_clear_free(bp);
    EC_POINT_free(p);
  }
  ERR_pop_to_mark();
  return result;
}

/* s·G + t·P for public s, t (signature verification): EC_POINT_mul with both scalars runs ossl_ec_wNAF_mul,
 * interleaved and variable-time, which is what makes verification fast. Never pass secrets here. */
static napi_value openssl_mul_add(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  const uint8_t *st_scalars[2];
  sm2_state *st = get_scalar_args(env, info, 3, argv, 2, st_scalars);
  if (st == NULL) return NULL;
  napi_value result = NULL;
  ERR_set_mark();
  EC_POINT *p = decode_point(env, st, argv[2]);
  if (p != NULL) {
    result = openssl_ec_mul(env, st, st_scalars[0], p, st_scalars[1], 0, 1);
    EC_POINT_free(p);
  }
  ERR_pop_to_mark();
  return result;
}

#ifdef YIQIAN_SM2P256
/* ---- The same four operations on the specialised arithmetic of sm2p256.c (the default exports) ---- */

/* Decodes and validates an uncompressed point for sm2p256: 65 bytes, 04 prefix, x and y < p, on the curve. The
 * point at infinity has no such encoding, so it is rejected too. */
static int fast_decode_point(napi_env env, napi_value value, sm2p256_affine *out) {
  const uint8_t *bytes =
      get_bytes(env, value, POINT_LEN, "INVALID_POINT", "point must be a 65-byte uncompressed point (04||x||y)");
  if (bytes == NULL) return 0;
  if (bytes[0] != 0x04) {
    napi_throw_error(env, "INVALID_POINT", "point must be uncompressed (04||x||y)");
    return 0;
  }
  if (!sm2p256_decode(out, bytes)) {
    napi_throw_error(env, "INVALID_POINT", "point is not on the SM2 curve or has a coordinate >= p");
    return 0;
  }
  return 1;
}

/* A new 65-byte Buffer holding `point`, or null when `finite` is 0 (the point at infinity). */
static napi_value fast_result(napi_env env, const uint8_t point[POINT_LEN], int finite) {
  napi_value result;
  if (!finite) {
    napi_get_null(env, &result);
    return result;
  }
  void *data = NULL;
  if (napi_create_buffer_copy(env, POINT_LEN, point, &data, &result) != napi_ok) return NULL;
  return result;
}

/* Copies a scalar out of the JS heap (the argument buffers may be shared with JS; our copy is wiped after use). */
static void copy_scalar(uint8_t out[SCALAR_LEN], const uint8_t *k) { memcpy(out, k, SCALAR_LEN); }

static void wipe_bytes(void *p, size_t len) {
  volatile uint8_t *v = p;
  while (len--) *v++ = 0;
}

/* k·G: fixed-base comb, constant time in k. */
static napi_value mul_base(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  const uint8_t *kb[1];
  sm2_state *st = get_scalar_args(env, info, 1, argv, 1, kb);
  if (st == NULL) return NULL;
  uint8_t k[SCALAR_LEN], out[POINT_LEN];
  copy_scalar(k, kb[0]);
  int finite = sm2p256_mul_base(out, st->pre, k);
  wipe_bytes(k, sizeof k);
  if (!finite) return fail(env, "INTERNAL", "unexpected point at infinity");
  return fast_result(env, out, 1);
}

/* k·P: fixed 4-bit window, constant time in k. */
static napi_value mul_point(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  const uint8_t *kb[1];
  sm2_state *st = get_scalar_args(env, info, 2, argv, 1, kb);
  if (st == NULL) return NULL;
  sm2p256_affine p;
  if (!fast_decode_point(env, argv[1], &p)) return NULL;
  uint8_t k[SCALAR_LEN], out[POINT_LEN];
  copy_scalar(k, kb[0]);
  int finite = sm2p256_mul(out, k, &p);
  wipe_bytes(k, sizeof k);
  if (!finite) return fail(env, "INTERNAL", "unexpected point at infinity");
  return fast_result(env, out, 1);
}

/* a·G + b·P for secret a, b: two constant-time multiplications and one complete addition. */
static napi_value mul_base_plus_mul(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  const uint8_t *scalars[2];
  sm2_state *st = get_scalar_args(env, info, 3, argv, 2, scalars);
  if (st == NULL) return NULL;
  sm2p256_affine p;
  if (!fast_decode_point(env, argv[2], &p)) return NULL;
  uint8_t a[SCALAR_LEN], b[SCALAR_LEN], out[POINT_LEN];
  copy_scalar(a, scalars[0]);
  copy_scalar(b, scalars[1]);
  int finite = sm2p256_mul_base_plus_mul(out, st->pre, a, b, &p);
  wipe_bytes(a, sizeof a);
  wipe_bytes(b, sizeof b);
  return fast_result(env, out, finite);
}

/* s·G + t·P for PUBLIC s, t: variable time (fixed-base table plus width-5 wNAF). */
static napi_value mul_add(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  const uint8_t *scalars[2];
  sm2_state *st = get_scalar_args(env, info, 3, argv, 2, scalars);
  if (st == NULL) return NULL;
  sm2p256_affine p;
  if (!fast_decode_point(env, argv[2], &p)) return NULL;
  uint8_t out[POINT_LEN];
  int finite = sm2p256_mul_add(out, st->pre, scalars[0], scalars[1], &p);
  return fast_result(env, out, finite);
}
#define ARITHMETIC "sm2p256"
#else
/* No unsigned __int128: the default exports are the OpenSSL ones. */
#define mul_base openssl_mul_base
#define mul_point openssl_mul_point
#define mul_add openssl_mul_add
#define mul_base_plus_mul openssl_mul_base_plus_mul
#define ARITHMETIC "openssl"
#endif

/* SM3 of data[0..length) into out[32] through the cached EVP_MD and the reused EVP_MD_CTX; 1 on success. On
 * failure (which valid input cannot cause) the OpenSSL error queue is cleared; on success nothing is queued, so the
 * hot path skips ERR_set_mark. */
static int sm3_into(const sm2_state *st, const void *data, size_t length, void *out) {
  static const uint8_t empty[1] = {0};
  unsigned int out_len = 0;
  int ok = EVP_DigestInit_ex(st->sm3_ctx, st->sm3, NULL) &&
           EVP_DigestUpdate(st->sm3_ctx, length > 0 ? data : empty, length) &&
           EVP_DigestFinal_ex(st->sm3_ctx, out, &out_len) && out_len == 32;
  if (!ok) ERR_clear_error();
  return ok;
}

/* sm3(data: Uint8Array) -> Buffer[32]: EVP_Digest through the cached EVP_MD and the reused EVP_MD_CTX. Saves
 * node's per-call digest lookup and Hash object for short inputs (see src/sm3.ts for when it is used). */
static napi_value sm3_digest(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  sm2_state *st = get_args(env, info, 1, argv);
  if (st == NULL) return NULL;
  size_t length = 0;
  void *data = NULL;
  if (!get_uint8_array(env, argv[0], &data, &length)) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "data must be a Uint8Array");
    return NULL;
  }
  napi_value result;
  void *out = NULL;
  if (napi_create_buffer(env, 32, &out, &result) != napi_ok) return NULL;
  if (!sm3_into(st, data, length, out)) return fail(env, "INTERNAL", "EVP_Digest(SM3) failed");
  return result;
}

/* sm3Into(data: Uint8Array, out: Uint8Array[32]) -> undefined: the same digest written into the caller's buffer.
 * Allocating the result costs more than hashing a short input, so src/sm3.ts passes a slice of Node's Buffer pool. */
static napi_value sm3_digest_into(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  sm2_state *st = get_args(env, info, 2, argv);
  if (st == NULL) return NULL;
  size_t length = 0, out_length = 0;
  void *data = NULL, *out = NULL;
  if (!get_uint8_array(env, argv[0], &data, &length) || !get_uint8_array(env, argv[1], &out, &out_length) ||
      out_length != 32) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "data must be a Uint8Array and out a Uint8Array of 32 bytes");
    return NULL;
  }
  if (!sm3_into(st, data, length, out)) return fail(env, "INTERNAL", "EVP_Digest(SM3) failed");
  return NULL;
}

/* The constant-time argument in README.md holds for OpenSSL 3.x running SM2 on the generic Montgomery method
 * (EC_POINT_mul -> ossl_ec_wNAF_mul -> ossl_ec_scalar_mul_ladder). A build that installs a specialised SM2
 * method (ECP_SM2P256_ASM: OpenSSL 3.2+ on aarch64 and riscv64) has its own mul whose timing we have not
 * reviewed: refuse to load there, and the TS loader falls back to @noble/curves. */
static int check_method(const EC_GROUP *group) {
  return OpenSSL_version_num() >= 0x30000000L && EC_GROUP_method_of(group) == EC_GFp_mont_method();
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  sm2_state *st = calloc(1, sizeof *st);
  if (st == NULL) return fail(env, "INTERNAL", "out of memory");
  ERR_set_mark();
  st->group = EC_GROUP_new_by_curve_name(NID_sm2);
  st->ctx = BN_CTX_secure_new();
  const BIGNUM *order = st->group != NULL ? EC_GROUP_get0_order(st->group) : NULL;
  int ok = st->ctx != NULL && order != NULL && BN_bn2binpad(order, st->order, SCALAR_LEN) == SCALAR_LEN;
  /* A table of multiples of G speeds up the variable-time s·G + t·P of verification (wNAF). The constant-time
   * single-scalar ladder that mulBase and mul take does not use it (ossl_ec_wNAF_mul picks the ladder first). */
  ok = ok && EC_GROUP_precompute_mult(st->group, st->ctx) == 1;
  ERR_pop_to_mark();
  if (!ok) {
    free_state(st);
    return fail(env, "INTERNAL", "this OpenSSL has no SM2 curve");
  }
  if (!check_method(st->group)) {
    free_state(st);
    return fail(env, "INTERNAL", "OpenSSL runs SM2 on a method whose constant-time behaviour is not reviewed");
  }
#ifdef YIQIAN_SM2P256
  st->pre = malloc(sizeof *st->pre);
  if (st->pre == NULL || !sm2p256_precompute(st->pre)) {
    free_state(st);
    return fail(env, "INTERNAL", "SM2 table precomputation failed its self-check");
  }
#endif
  ERR_set_mark();
  st->sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
  st->sm3_ctx = st->sm3 != NULL ? EVP_MD_CTX_new() : NULL;
  ERR_pop_to_mark();
  if (napi_add_env_cleanup_hook(env, free_state, st) != napi_ok) {
    free_state(st);
    return fail(env, "INTERNAL", "napi_add_env_cleanup_hook failed");
  }

  napi_value version, arithmetic;
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &version);
  napi_create_string_utf8(env, ARITHMETIC, NAPI_AUTO_LENGTH, &arithmetic);
  napi_property_descriptor props[] = {
      {"mulBase", NULL, mul_base, NULL, NULL, NULL, napi_enumerable, st},
      {"mul", NULL, mul_point, NULL, NULL, NULL, napi_enumerable, st},
      {"mulAdd", NULL, mul_add, NULL, NULL, NULL, napi_enumerable, st},
      {"mulBasePlusMul", NULL, mul_base_plus_mul, NULL, NULL, NULL, napi_enumerable, st},
      {"opensslMulBase", NULL, openssl_mul_base, NULL, NULL, NULL, napi_enumerable, st},
      {"opensslMul", NULL, openssl_mul_point, NULL, NULL, NULL, napi_enumerable, st},
      {"opensslMulAdd", NULL, openssl_mul_add, NULL, NULL, NULL, napi_enumerable, st},
      {"opensslMulBasePlusMul", NULL, openssl_mul_base_plus_mul, NULL, NULL, NULL, napi_enumerable, st},
      {"arithmetic", NULL, NULL, NULL, NULL, arithmetic, napi_enumerable, NULL},
      {"opensslVersion", NULL, NULL, NULL, NULL, version, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (st->sm3_ctx != NULL) {
    napi_property_descriptor sm3_props[] = {
        {"sm3", NULL, sm3_digest, NULL, NULL, NULL, napi_enumerable, st},
        {"sm3Into", NULL, sm3_digest_into, NULL, NULL, NULL, napi_enumerable, st},
    };
    if (napi_define_properties(env, exports, 2, sm3_props) != napi_ok) return NULL;
  }
  return exports;
}
