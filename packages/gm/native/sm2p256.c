/*
 * SM2 point arithmetic specialised for the curve sm2p256v1, in portable C (needs unsigned __int128: gcc and clang on
 * 64-bit targets; without it sm2p256.h defines nothing and sm2.c stays on OpenSSL's EC_POINT_mul).
 *
 * Field: p = 2^256 - 2^224 - 2^96 + 2^64 - 1, elements as 4 little-endian 64-bit limbs in Montgomery form
 * (a*R mod p, R = 2^256), always fully reduced to [0, p). Multiplication is word-by-word Montgomery (CIOS) with
 * -p^-1 mod 2^64 = 1, ending in a branch-free conditional subtraction; addition and subtraction likewise end in a
 * masked correction. Inversion is Fermat (a^(p-2)) over a fixed addition chain: the exponent is public, so the
 * sequence of squarings and multiplications is the same for every input.
 *
 * Curve: y^2 = x^3 - 3x + b, prime order n. Points are homogeneous projective (X:Y:Z), the point at infinity is
 * (0:1:0). Additions and doublings use the complete formulas of Renes, Costello and Batina, "Complete addition
 * formulas for prime order elliptic curves" (EUROCRYPT 2016, eprint 2015/1060), Algorithms 4 (addition), 5 (mixed
 * addition, second point affine and not infinity) and 6 (doubling) for a = -3. They are exception-free (valid for
 * equal points, opposite points and infinity), so no code path depends on the values being added.
 *
 * Secret scalars (mul_base, mul, mul_base_plus_mul): fixed sequence of operations, every table lookup reads every
 * entry of the row and keeps the wanted one with masks; the only indices are loop counters. Public scalars
 * (mul_add): variable time, and its doublings use Jacobian coordinates (see jac_dbl).
 */
#include "sm2p256.h"

#ifdef YIQIAN_SM2P256

#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef uint64_t fe[4];

typedef struct {
  fe X, Y, Z;
} pt;

static const fe P = {0xffffffffffffffffULL, 0xffffffff00000000ULL, 0xffffffffffffffffULL, 0xfffffffeffffffffULL};
/* R mod p: 1 in Montgomery form. */
static const fe ONE = {0x0000000000000001ULL, 0x00000000ffffffffULL, 0x0000000000000000ULL, 0x0000000100000000ULL};
/* R^2 mod p: to_mont(a) = a * RR / R. */
static const fe RR = {0x0000000200000003ULL, 0x00000002ffffffffULL, 0x0000000100000001ULL, 0x0000000400000002ULL};
static const fe B_MONT = {0x90d230632bc0dd42ULL, 0x71cf379ae9b537abULL, 0x527981505ea51c3cULL,
                          0x240fe188ba20e2c8ULL};
static const fe GX_MONT = {0x61328990f418029eULL, 0x3e7981eddca6c050ULL, 0xd6a1ed99ac24c3c3ULL,
                           0x91167a5ee1c13b05ULL};
static const fe GY_MONT = {0xc1354e593c2d0dddULL, 0xc1f5e5788d3295faULL, 0x8d4cfb066e2a48f8ULL,
                           0x63cd65d481d735bdULL};

/* Zeroes memory that held secret-derived values; the volatile pointer keeps the stores. */
static void wipe(void *p, size_t len) {
  volatile uint8_t *v = p;
  while (len--) *v++ = 0;
}

/* All ones when a == b, else 0, without a branch. */
static inline uint64_t ct_eq(uint64_t a, uint64_t b) {
  uint64_t x = a ^ b;
  return ((x | (0 - x)) >> 63) - 1;
}

/* ---- field arithmetic mod p ---- */

/* r = t - p if t >= p else t, for t = (hi:t0..t3) < 2p; branch-free. */
static inline void fe_reduce_once(fe r, uint64_t t0, uint64_t t1, uint64_t t2, uint64_t t3, uint64_t hi) {
  u128 d;
  uint64_t s0, s1, s2, s3, borrow;
  d = (u128)t0 - P[0];
  s0 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t1 - P[1] - borrow;
  s1 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t2 - P[2] - borrow;
  s2 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t3 - P[3] - borrow;
  s3 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)hi - borrow;
  borrow = (uint64_t)(d >> 64) & 1;
  uint64_t keep = 0 - borrow; /* all ones: t < p, keep t */
  r[0] = (t0 & keep) | (s0 & ~keep);
  r[1] = (t1 & keep) | (s1 & ~keep);
  r[2] = (t2 & keep) | (s2 & ~keep);
  r[3] = (t3 & keep) | (s3 & ~keep);
}

/* Montgomery product a*b/R mod p (CIOS). a, b < p; r may alias either. */
static void fe_mul(fe r, const fe a, const fe b) {
  uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5;
  for (int i = 0; i < 4; i++) {
    u128 x;
    uint64_t c, bi = b[i];
    x = (u128)a[0] * bi + t0;
    t0 = (uint64_t)x;
    c = (uint64_t)(x >> 64);
    x = (u128)a[1] * bi + t1 + c;
    t1 = (uint64_t)x;
    c = (uint64_t)(x >> 64);
    x = (u128)a[2] * bi + t2 + c;
    t2 = (uint64_t)x;
    c = (uint64_t)(x >> 64);
    x = (u128)a[3] * bi + t3 + c;
    t3 = (uint64_t)x;
    c = (uint64_t)(x >> 64);
    x = (u128)t4 + c;
    t4 = (uint64_t)x;
    t5 = (uint64_t)(x >> 64);
    /* m = t0 * (-p^-1 mod 2^64) = t0, since p = -1 mod 2^64 */
    uint64_t m = t0;
    x = (u128)m * P[0] + t0;
    c = (uint64_t)(x >> 64);
    x = (u128)m * P[1] + t1 + c;
    t0 = (uint64_t)x;
    c = (uint64_t)(x >> 64);
    x = (u128)m * P[2] + t2 + c;
    t1 = (uint64_t)x;
    c = (uint64_t)(x >> 64);
    x = (u128)m * P[3] + t3 + c;
    t2 = (uint64_t)x;
    c = (uint64_t)(x >> 64);
    x = (u128)t4 + c;
    t3 = (uint64_t)x;
    t4 = t5 + (uint64_t)(x >> 64);
  }
  fe_reduce_once(r, t0, t1, t2, t3, t4);
}

static inline void fe_sqr(fe r, const fe a) { fe_mul(r, a, a); }

static void fe_sqr_n(fe r, const fe a, int n) {
  fe_sqr(r, a);
  while (--n > 0) fe_sqr(r, r);
}

static void fe_add(fe r, const fe a, const fe b) {
  u128 x;
  uint64_t t0, t1, t2, t3;
  x = (u128)a[0] + b[0];
  t0 = (uint64_t)x;
  x = (u128)a[1] + b[1] + (uint64_t)(x >> 64);
  t1 = (uint64_t)x;
  x = (u128)a[2] + b[2] + (uint64_t)(x >> 64);
  t2 = (uint64_t)x;
  x = (u128)a[3] + b[3] + (uint64_t)(x >> 64);
  t3 = (uint64_t)x;
  fe_reduce_once(r, t0, t1, t2, t3, (uint64_t)(x >> 64));
}

static void fe_sub(fe r, const fe a, const fe b) {
  u128 d;
  uint64_t t0, t1, t2, t3, borrow;
  d = (u128)a[0] - b[0];
  t0 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)a[1] - b[1] - borrow;
  t1 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)a[2] - b[2] - borrow;
  t2 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)a[3] - b[3] - borrow;
  t3 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  uint64_t mask = 0 - borrow; /* a < b: add p back */
  u128 x;
  x = (u128)t0 + (P[0] & mask);
  r[0] = (uint64_t)x;
  x = (u128)t1 + (P[1] & mask) + (uint64_t)(x >> 64);
  r[1] = (uint64_t)x;
  x = (u128)t2 + (P[2] & mask) + (uint64_t)(x >> 64);
  r[2] = (uint64_t)x;
  x = (u128)t3 + (P[3] & mask) + (uint64_t)(x >> 64);
  r[3] = (uint64_t)x;
}

static inline void fe_copy(fe r, const fe a) { memcpy(r, a, sizeof(fe)); }

/* r = a if mask is all ones, unchanged if mask is 0. */
static inline void fe_cmov(fe r, const fe a, uint64_t mask) {
  for (int i = 0; i < 4; i++) r[i] = (r[i] & ~mask) | (a[i] & mask);
}

static inline int fe_is_zero_vartime(const fe a) { return (a[0] | a[1] | a[2] | a[3]) == 0; }

/* a^(p-2) = a^-1 (0 for a = 0). p - 2 in binary, most significant first: 31 ones, 0, 128 ones, 32 zeros, 62 ones,
 * 0, 1. x_k below is a^(2^k - 1). Works in the Montgomery domain as it is. */
static void fe_inv(fe r, const fe a) {
  fe x2, x3, x6, x12, x24, x31, x32, x62, x64, x128, t;
  fe_sqr(x2, a);
  fe_mul(x2, x2, a);
  fe_sqr(x3, x2);
  fe_mul(x3, x3, a);
  fe_sqr_n(x6, x3, 3);
  fe_mul(x6, x6, x3);
  fe_sqr_n(x12, x6, 6);
  fe_mul(x12, x12, x6);
  fe_sqr_n(x24, x12, 12);
  fe_mul(x24, x24, x12);
  fe_sqr_n(t, x24, 6);
  fe_mul(t, t, x6); /* x30 */
  fe_sqr(x31, t);
  fe_mul(x31, x31, a);
  fe_sqr(x32, x31);
  fe_mul(x32, x32, a);
  fe_sqr_n(x62, x31, 31);
  fe_mul(x62, x62, x31);
  fe_sqr_n(x64, x32, 32);
  fe_mul(x64, x64, x32);
  fe_sqr_n(x128, x64, 64);
  fe_mul(x128, x128, x64);

  fe_sqr_n(t, x31, 1 + 128); /* the 0 bit, then room for 128 ones */
  fe_mul(t, t, x128);
  fe_sqr_n(t, t, 32 + 62); /* 32 zeros, then room for 62 ones */
  fe_mul(t, t, x62);
  fe_sqr_n(t, t, 2); /* 0, then 1 */
  fe_mul(r, t, a);
  wipe(x2, sizeof x2);
  wipe(x3, sizeof x3);
  wipe(x6, sizeof x6);
  wipe(x12, sizeof x12);
  wipe(x24, sizeof x24);
  wipe(x31, sizeof x31);
  wipe(x32, sizeof x32);
  wipe(x62, sizeof x62);
  wipe(x64, sizeof x64);
  wipe(x128, sizeof x128);
  wipe(t, sizeof t);
}

static void fe_from_be(fe r, const uint8_t *b) {
  for (int i = 0; i < 4; i++) {
    uint64_t w = 0;
    for (int j = 0; j < 8; j++) w = (w << 8) | b[8 * i + j];
    r[3 - i] = w;
  }
}

static void fe_to_be(uint8_t *b, const fe a) {
  for (int i = 0; i < 4; i++) {
    uint64_t w = a[3 - i];
    for (int j = 7; j >= 0; j--) {
      b[8 * i + j] = (uint8_t)w;
      w >>= 8;
    }
  }
}

/* 1 iff a < p (a plain integer from bytes). */
static int fe_lt_p(const fe a) {
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) {
    u128 d = (u128)a[i] - P[i] - borrow;
    borrow = (uint64_t)(d >> 64) & 1;
  }
  return (int)borrow;
}

static inline void fe_to_mont(fe r, const fe a) { fe_mul(r, a, RR); }

static inline void fe_from_mont(fe r, const fe a) {
  static const fe one = {1, 0, 0, 0};
  fe_mul(r, a, one);
}

/* ---- points: complete formulas (RCB 2016) for a = -3 ---- */

static void pt_set_infinity(pt *r) {
  memset(r->X, 0, sizeof(fe));
  fe_copy(r->Y, ONE);
  memset(r->Z, 0, sizeof(fe));
}

static void pt_from_affine(pt *r, const sm2p256_affine *a) {
  fe_copy(r->X, a->x);
  fe_copy(r->Y, a->y);
  fe_copy(r->Z, ONE);
}

static inline void pt_cmov(pt *r, const pt *a, uint64_t mask) {
  fe_cmov(r->X, a->X, mask);
  fe_cmov(r->Y, a->Y, mask);
  fe_cmov(r->Z, a->Z, mask);
}

/* Algorithm 4: r = a + b, any a, b (equal, opposite, infinity). r may alias a or b. */
static void pt_add(pt *r, const pt *a, const pt *b) {
  fe t0, t1, t2, t3, t4, X3, Y3, Z3;
  const uint64_t *X1 = a->X, *Y1 = a->Y, *Z1 = a->Z, *X2 = b->X, *Y2 = b->Y, *Z2 = b->Z;
  fe_mul(t0, X1, X2);   /* 1 */
  fe_mul(t1, Y1, Y2);   /* 2 */
  fe_mul(t2, Z1, Z2);   /* 3 */
  fe_add(t3, X1, Y1);   /* 4 */
  fe_add(t4, X2, Y2);   /* 5 */
  fe_mul(t3, t3, t4);   /* 6 */
  fe_add(t4, t0, t1);   /* 7 */
  fe_sub(t3, t3, t4);   /* 8 */
  fe_add(t4, Y1, Z1);   /* 9 */
  fe_add(X3, Y2, Z2);   /* 10 */
  fe_mul(t4, t4, X3);   /* 11 */
  fe_add(X3, t1, t2);   /* 12 */
  fe_sub(t4, t4, X3);   /* 13 */
  fe_add(X3, X1, Z1);   /* 14 */
  fe_add(Y3, X2, Z2);   /* 15 */
  fe_mul(X3, X3, Y3);   /* 16 */
  fe_add(Y3, t0, t2);   /* 17 */
  fe_sub(Y3, X3, Y3);   /* 18 */
  fe_mul(Z3, B_MONT, t2); /* 19 */
  fe_sub(X3, Y3, Z3);   /* 20 */
  fe_add(Z3, X3, X3);   /* 21 */
  fe_add(X3, X3, Z3);   /* 22 */
  fe_sub(Z3, t1, X3);   /* 23 */
  fe_add(X3, t1, X3);   /* 24 */
  fe_mul(Y3, B_MONT, Y3); /* 25 */
  fe_add(t1, t2, t2);   /* 26 */
  fe_add(t2, t1, t2);   /* 27 */
  fe_sub(Y3, Y3, t2);   /* 28 */
  fe_sub(Y3, Y3, t0);   /* 29 */
  fe_add(t1, Y3, Y3);   /* 30 */
  fe_add(Y3, t1, Y3);   /* 31 */
  fe_add(t1, t0, t0);   /* 32 */
  fe_add(t0, t1, t0);   /* 33 */
  fe_sub(t0, t0, t2);   /* 34 */
  fe_mul(t1, t4, Y3);   /* 35 */
  fe_mul(t2, t0, Y3);   /* 36 */
  fe_mul(Y3, X3, Z3);   /* 37 */
  fe_add(Y3, Y3, t2);   /* 38 */
  fe_mul(X3, t3, X3);   /* 39 */
  fe_sub(X3, X3, t1);   /* 40 */
  fe_mul(Z3, t4, Z3);   /* 41 */
  fe_mul(t1, t3, t0);   /* 42 */
  fe_add(Z3, Z3, t1);   /* 43 */
  fe_copy(r->X, X3);
  fe_copy(r->Y, Y3);
  fe_copy(r->Z, Z3);
}

/* Algorithm 5: r = a + b with b affine (Z2 = 1) and NOT the point at infinity; a arbitrary. r may alias a. */
static void pt_add_mixed(pt *r, const pt *a, const sm2p256_affine *b) {
  fe t0, t1, t2, t3, t4, X3, Y3, Z3;
  const uint64_t *X1 = a->X, *Y1 = a->Y, *Z1 = a->Z, *X2 = b->x, *Y2 = b->y;
  fe_mul(t0, X1, X2);   /* 1 */
  fe_mul(t1, Y1, Y2);   /* 2 */
  fe_add(t3, X2, Y2);   /* 3 */
  fe_add(t4, X1, Y1);   /* 4 */
  fe_mul(t3, t3, t4);   /* 5 */
  fe_add(t4, t0, t1);   /* 6 */
  fe_sub(t3, t3, t4);   /* 7 */
  fe_mul(t4, Y2, Z1);   /* 8 */
  fe_add(t4, t4, Y1);   /* 9 */
  fe_mul(Y3, X2, Z1);   /* 10 */
  fe_add(Y3, Y3, X1);   /* 11 */
  fe_mul(Z3, B_MONT, Z1); /* 12 */
  fe_sub(X3, Y3, Z3);   /* 13 */
  fe_add(Z3, X3, X3);   /* 14 */
  fe_add(X3, X3, Z3);   /* 15 */
  fe_sub(Z3, t1, X3);   /* 16 */
  fe_add(X3, t1, X3);   /* 17 */
  fe_mul(Y3, B_MONT, Y3); /* 18 */
  fe_add(t1, Z1, Z1);   /* 19 */
  fe_add(t2, t1, Z1);   /* 20 */
  fe_sub(Y3, Y3, t2);   /* 21 */
  fe_sub(Y3, Y3, t0);   /* 22 */
  fe_add(t1, Y3, Y3);   /* 23 */
  fe_add(Y3, t1, Y3);   /* 24 */
  fe_add(t1, t0, t0);   /* 25 */
  fe_add(t0, t1, t0);   /* 26 */
  fe_sub(t0, t0, t2);   /* 27 */
  fe_mul(t1, t4, Y3);   /* 28 */
  fe_mul(t2, t0, Y3);   /* 29 */
  fe_mul(Y3, X3, Z3);   /* 30 */
  fe_add(Y3, Y3, t2);   /* 31 */
  fe_mul(X3, t3, X3);   /* 32 */
  fe_sub(X3, X3, t1);   /* 33 */
  fe_mul(Z3, t4, Z3);   /* 34 */
  fe_mul(t1, t3, t0);   /* 35 */
  fe_add(Z3, Z3, t1);   /* 36 */
  fe_copy(r->X, X3);
  fe_copy(r->Y, Y3);
  fe_copy(r->Z, Z3);
}

/* Algorithm 6: r = 2a, any a. r may alias a. */
static void pt_dbl(pt *r, const pt *a) {
  fe t0, t1, t2, t3, X3, Y3, Z3;
  const uint64_t *X = a->X, *Y = a->Y, *Z = a->Z;
  fe_sqr(t0, X);        /* 1 */
  fe_sqr(t1, Y);        /* 2 */
  fe_sqr(t2, Z);        /* 3 */
  fe_mul(t3, X, Y);     /* 4 */
  fe_add(t3, t3, t3);   /* 5 */
  fe_mul(Z3, X, Z);     /* 6 */
  fe_add(Z3, Z3, Z3);   /* 7 */
  fe_mul(Y3, B_MONT, t2); /* 8 */
  fe_sub(Y3, Y3, Z3);   /* 9 */
  fe_add(X3, Y3, Y3);   /* 10 */
  fe_add(Y3, X3, Y3);   /* 11 */
  fe_sub(X3, t1, Y3);   /* 12 */
  fe_add(Y3, t1, Y3);   /* 13 */
  fe_mul(Y3, X3, Y3);   /* 14 */
  fe_mul(X3, X3, t3);   /* 15 */
  fe_add(t3, t2, t2);   /* 16 */
  fe_add(t2, t2, t3);   /* 17 */
  fe_mul(Z3, B_MONT, Z3); /* 18 */
  fe_sub(Z3, Z3, t2);   /* 19 */
  fe_sub(Z3, Z3, t0);   /* 20 */
  fe_add(t3, Z3, Z3);   /* 21 */
  fe_add(Z3, Z3, t3);   /* 22 */
  fe_add(t3, t0, t0);   /* 23 */
  fe_add(t0, t3, t0);   /* 24 */
  fe_sub(t0, t0, t2);   /* 25 */
  fe_mul(t0, t0, Z3);   /* 26 */
  fe_add(Y3, Y3, t0);   /* 27 */
  fe_mul(t0, Y, Z);     /* 28 */
  fe_add(t0, t0, t0);   /* 29 */
  fe_mul(Z3, t0, Z3);   /* 30 */
  fe_sub(X3, X3, Z3);   /* 31 */
  fe_mul(Z3, t0, t1);   /* 32 */
  fe_add(Z3, Z3, Z3);   /* 33 */
  fe_add(Z3, Z3, Z3);   /* 34 */
  fe_copy(r->X, X3);
  fe_copy(r->Y, Y3);
  fe_copy(r->Z, Z3);
}

static void pt_neg(pt *r, const pt *a) {
  static const fe zero = {0, 0, 0, 0};
  fe_copy(r->X, a->X);
  fe_sub(r->Y, zero, a->Y);
  fe_copy(r->Z, a->Z);
}

/* Writes 04||x||y and returns 1, or returns 0 for the point at infinity (Z = 0). */
static int pt_encode(uint8_t out[65], const pt *a) {
  if (fe_is_zero_vartime(a->Z)) return 0;
  fe zi, x, y;
  fe_inv(zi, a->Z);
  fe_mul(x, a->X, zi);
  fe_mul(y, a->Y, zi);
  fe_from_mont(x, x);
  fe_from_mont(y, y);
  out[0] = 0x04;
  fe_to_be(out + 1, x);
  fe_to_be(out + 33, y);
  wipe(zi, sizeof zi);
  wipe(x, sizeof x);
  wipe(y, sizeof y);
  return 1;
}

/* Nibble i (0 = least significant) of a 32-byte big-endian scalar. The byte index depends on i only. */
static inline uint64_t nibble(const uint8_t k[32], int i) {
  return (uint64_t)(k[31 - (i >> 1)] >> ((i & 1) * 4)) & 0xf;
}

/* ---- public functions ---- */

int sm2p256_decode(sm2p256_affine *out, const uint8_t in[65]) {
  fe x, y, lhs, rhs, t;
  if (in[0] != 0x04) return 0;
  fe_from_be(x, in + 1);
  fe_from_be(y, in + 33);
  if (!fe_lt_p(x) || !fe_lt_p(y)) return 0;
  fe_to_mont(x, x);
  fe_to_mont(y, y);
  /* y^2 == x^3 - 3x + b */
  fe_sqr(lhs, y);
  fe_sqr(rhs, x);
  fe_mul(rhs, rhs, x);
  fe_add(t, x, x);
  fe_add(t, t, x);
  fe_sub(rhs, rhs, t);
  fe_add(rhs, rhs, B_MONT);
  if (memcmp(lhs, rhs, sizeof(fe)) != 0) return 0;
  fe_copy(out->x, x);
  fe_copy(out->y, y);
  return 1;
}

int sm2p256_precompute(sm2p256_precomp *pre) {
  enum { COUNT = 64 * 15 };
  pt *pts = malloc(sizeof(pt) * COUNT);
  fe *prefix = malloc(sizeof(fe) * COUNT);
  int ok = 0;
  if (pts == NULL || prefix == NULL) goto done;

  sm2p256_affine g;
  fe_copy(g.x, GX_MONT);
  fe_copy(g.y, GY_MONT);
  pt base; /* 16^i * G */
  pt_from_affine(&base, &g);
  for (int i = 0; i < 64; i++) {
    pt *row = pts + 15 * i;
    row[0] = base;
    pt_dbl(&row[1], &row[0]);
    for (int j = 2; j < 15; j++) pt_add(&row[j], &row[j - 1], &row[0]);
    pt_dbl(&base, &row[7]); /* 16 * 16^i * G = 2 * (8 * 16^i * G) */
  }
  /* Batch inversion (Montgomery's trick): none of the Z is 0, since (j+1) * 16^i < 2^256 - 2^252 < n. */
  fe_copy(prefix[0], pts[0].Z);
  for (int i = 1; i < COUNT; i++) fe_mul(prefix[i], prefix[i - 1], pts[i].Z);
  fe inv, zi;
  fe_inv(inv, prefix[COUNT - 1]);
  for (int i = COUNT - 1; i >= 0; i--) {
    if (i > 0) {
      fe_mul(zi, inv, prefix[i - 1]);
      fe_mul(inv, inv, pts[i].Z);
    } else {
      fe_copy(zi, inv);
    }
    sm2p256_affine *e = &pre->base[i / 15][i % 15];
    fe_mul(e->x, pts[i].X, zi);
    fe_mul(e->y, pts[i].Y, zi);
  }
  /* Self-check: the first entry is G, and the last row's 15th entry is on the curve. */
  uint8_t enc[65];
  sm2p256_affine check;
  ok = memcmp(pre->base[0][0].x, GX_MONT, sizeof(fe)) == 0 && memcmp(pre->base[0][0].y, GY_MONT, sizeof(fe)) == 0;
  enc[0] = 0x04;
  fe_from_mont(inv, pre->base[63][14].x);
  fe_to_be(enc + 1, inv);
  fe_from_mont(inv, pre->base[63][14].y);
  fe_to_be(enc + 33, inv);
  ok = ok && sm2p256_decode(&check, enc);
done:
  free(pts);
  free(prefix);
  return ok;
}

/* Row i of the fixed-base table, entry d (1..15), or (0, 0) for d = 0; reads all 15 entries. */
static void base_lookup(sm2p256_affine *r, const sm2p256_affine row[15], uint64_t d) {
  memset(r, 0, sizeof *r);
  for (uint64_t j = 0; j < 15; j++) {
    uint64_t mask = ct_eq(d, j + 1);
    fe_cmov(r->x, row[j].x, mask);
    fe_cmov(r->y, row[j].y, mask);
  }
}

/* q = k*G, constant time: q = sum over i of nibble_i(k) * 16^i * G, one mixed addition per nibble. A zero nibble
 * still costs the addition (of the dummy (0, 0)), whose result is then discarded by mask. */
static void mul_base_pt(pt *q, const sm2p256_precomp *pre, const uint8_t k[32]) {
  sm2p256_affine a;
  pt sum;
  pt_set_infinity(q);
  for (int i = 0; i < 64; i++) {
    uint64_t d = nibble(k, i);
    base_lookup(&a, pre->base[i], d);
    pt_add_mixed(&sum, q, &a);
    pt_cmov(q, &sum, ~ct_eq(d, 0));
  }
  wipe(&a, sizeof a);
  wipe(&sum, sizeof sum);
}

/* q = k*P, constant time: fixed 4-bit windows, most significant first, over the table 0*P .. 15*P (0*P is the
 * point at infinity, which the complete addition handles). */
static void mul_pt(pt *q, const uint8_t k[32], const sm2p256_affine *p) {
  pt table[16], a;
  pt_set_infinity(&table[0]);
  pt_from_affine(&table[1], p);
  for (int j = 2; j < 16; j++) {
    if ((j & 1) == 0) pt_dbl(&table[j], &table[j / 2]);
    else pt_add(&table[j], &table[j - 1], &table[1]);
  }
  pt_set_infinity(q);
  for (int i = 63; i >= 0; i--) {
    if (i != 63) {
      pt_dbl(q, q);
      pt_dbl(q, q);
      pt_dbl(q, q);
      pt_dbl(q, q);
    }
    uint64_t d = nibble(k, i);
    memset(&a, 0, sizeof a);
    for (uint64_t j = 0; j < 16; j++) pt_cmov(&a, &table[j], ct_eq(d, j));
    pt_add(q, q, &a);
  }
  wipe(table, sizeof table);
  wipe(&a, sizeof a);
}

int sm2p256_mul_base(uint8_t out[65], const sm2p256_precomp *pre, const uint8_t k[32]) {
  pt q;
  mul_base_pt(&q, pre, k);
  int finite = pt_encode(out, &q); /* always 1 for k in [1, n-1] */
  wipe(&q, sizeof q);
  return finite;
}

int sm2p256_mul(uint8_t out[65], const uint8_t k[32], const sm2p256_affine *p) {
  pt q;
  mul_pt(&q, k, p);
  int finite = pt_encode(out, &q); /* always 1 for k in [1, n-1] and P on the curve (prime order n) */
  wipe(&q, sizeof q);
  return finite;
}

int sm2p256_mul_base_plus_mul(uint8_t out[65], const sm2p256_precomp *pre, const uint8_t a[32], const uint8_t b[32],
                              const sm2p256_affine *p) {
  pt ag, bp;
  mul_base_pt(&ag, pre, a);
  mul_pt(&bp, b, p);
  pt_add(&ag, &ag, &bp);
  int finite = pt_encode(out, &ag);
  wipe(&ag, sizeof ag);
  wipe(&bp, sizeof bp);
  return finite;
}

/* Width-5 NAF of a 256-bit big-endian scalar: digits in {0, +-1, +-3, ..., +-15}, at most 257 of them, any two
 * non-zero digits at least 5 apart. Returns the number of digits. Variable time. */
static int wnaf5(int8_t naf[258], const uint8_t s[32]) {
  uint64_t k[5];
  fe_from_be(k, s);
  k[4] = 0;
  int len = 0;
  while ((k[0] | k[1] | k[2] | k[3] | k[4]) != 0) {
    int d = 0;
    if (k[0] & 1) {
      d = (int)(k[0] & 31);
      if (d >= 16) d -= 32;
      /* k -= d */
      u128 x;
      if (d > 0) {
        uint64_t borrow = (uint64_t)d;
        for (int i = 0; i < 5; i++) {
          x = (u128)k[i] - borrow;
          k[i] = (uint64_t)x;
          borrow = (uint64_t)(x >> 64) & 1;
        }
      } else {
        uint64_t carry = (uint64_t)(-d);
        for (int i = 0; i < 5; i++) {
          x = (u128)k[i] + carry;
          k[i] = (uint64_t)x;
          carry = (uint64_t)(x >> 64);
        }
      }
    }
    naf[len++] = (int8_t)d;
    for (int i = 0; i < 4; i++) k[i] = (k[i] >> 1) | (k[i + 1] << 63);
    k[4] >>= 1;
  }
  return len;
}

/* ---- Jacobian doubling for the variable-time path ----
 * (X : Y : Z) with x = X/Z^2, y = Y/Z^3; Z = 0 is the point at infinity. dbl-2001-b for a = -3 (3M + 5S against
 * 8M + 3S + 2 multiplications by b for Algorithm 6). It has no exceptional case on a prime-order curve: doubling
 * infinity (Z = 0) gives Z3 = 0, and there is no point of order 2. Additions stay on Algorithm 4, through the
 * conversions below (3 multiplications each way). Used only by mul_add, whose scalars are public. */
static void jac_dbl(pt *r, const pt *a) {
  fe delta, gamma, beta, alpha, t, u;
  fe_sqr(delta, a->Z);
  fe_sqr(gamma, a->Y);
  fe_mul(beta, a->X, gamma);
  fe_sub(t, a->X, delta);
  fe_add(u, a->X, delta);
  fe_mul(alpha, t, u);
  fe_add(t, alpha, alpha);
  fe_add(alpha, t, alpha); /* alpha = 3 (X - delta)(X + delta) */
  fe_add(t, a->Y, a->Z);
  fe_sqr(t, t);
  fe_sub(t, t, gamma);
  fe_sub(r->Z, t, delta); /* Z3 = (Y + Z)^2 - gamma - delta; a->Y, a->Z no longer needed */
  fe_add(beta, beta, beta);
  fe_add(beta, beta, beta); /* 4 beta */
  fe_add(u, beta, beta);    /* 8 beta */
  fe_sqr(t, alpha);
  fe_sub(r->X, t, u); /* X3 = alpha^2 - 8 beta */
  fe_sub(t, beta, r->X);
  fe_mul(t, alpha, t);
  fe_sqr(gamma, gamma);
  fe_add(gamma, gamma, gamma);
  fe_add(gamma, gamma, gamma);
  fe_add(gamma, gamma, gamma); /* 8 gamma^2 */
  fe_sub(r->Y, t, gamma);
}

/* Homogeneous (X : Y : Z) -> Jacobian (XZ, YZ^2, Z); infinity (0 : 1 : 0) becomes Z = 0. */
static void hom_to_jac(pt *r, const pt *a) {
  fe z2;
  fe_sqr(z2, a->Z);
  fe_mul(r->X, a->X, a->Z);
  fe_mul(r->Y, a->Y, z2);
  fe_copy(r->Z, a->Z);
}

/* Jacobian -> homogeneous (XZ, Y, Z^3); Z = 0 becomes the canonical (0 : 1 : 0) the RCB formulas expect. */
static void jac_to_hom(pt *r, const pt *a) {
  if (fe_is_zero_vartime(a->Z)) {
    pt_set_infinity(r);
    return;
  }
  fe z3;
  fe_sqr(z3, a->Z);
  fe_mul(z3, z3, a->Z);
  fe_mul(r->X, a->X, a->Z);
  fe_copy(r->Y, a->Y);
  fe_copy(r->Z, z3);
}

int sm2p256_mul_add(uint8_t out[65], const sm2p256_precomp *pre, const uint8_t s[32], const uint8_t t[32],
                    const sm2p256_affine *p) {
  /* s*G from the fixed-base table, skipping zero nibbles. */
  pt sg;
  pt_set_infinity(&sg);
  for (int i = 0; i < 64; i++) {
    uint64_t d = nibble(s, i);
    if (d != 0) pt_add_mixed(&sg, &sg, &pre->base[i][d - 1]);
  }
  /* t*P by width-5 wNAF over the odd multiples P, 3P, ..., 15P (homogeneous), doubling in Jacobian coordinates. */
  pt odd[8], twice, acc, h, addend;
  pt_from_affine(&odd[0], p);
  pt_dbl(&twice, &odd[0]);
  for (int j = 1; j < 8; j++) pt_add(&odd[j], &odd[j - 1], &twice);
  int8_t naf[258];
  int len = wnaf5(naf, t);
  pt_set_infinity(&h); /* t*P in homogeneous coordinates once the loop is done */
  int started = 0;
  for (int i = len - 1; i >= 0; i--) {
    if (started) jac_dbl(&acc, &acc);
    int d = naf[i];
    if (d == 0) continue;
    if (d > 0) addend = odd[(d - 1) / 2];
    else pt_neg(&addend, &odd[(-d - 1) / 2]);
    if (started) {
      jac_to_hom(&h, &acc);
      pt_add(&h, &h, &addend);
    } else {
      h = addend;
      started = 1;
    }
    hom_to_jac(&acc, &h);
  }
  if (started) jac_to_hom(&h, &acc);
  pt_add(&sg, &sg, &h);
  return pt_encode(out, &sg);
}

#endif
