/*
 * Specialised SM2 (GB/T 32918, curve sm2p256v1) point arithmetic in portable C: field elements mod p as 4x64-bit
 * limbs in Montgomery form (products through unsigned __int128), projective points with the complete formulas of
 * Renes, Costello and Batina 2016 for a = -3. See sm2p256.c and README.md.
 *
 * Scalars are 32 bytes big-endian; the caller has already checked them to lie in [1, n-1]. Points are 65 bytes
 * uncompressed (04||x||y).
 */
#ifndef YIQIAN_SM2P256_H
#define YIQIAN_SM2P256_H

#if defined(__SIZEOF_INT128__) && !defined(YIQIAN_SM2P256_DISABLE)
#define YIQIAN_SM2P256 1

#include <stdint.h>

/* An affine point, coordinates in Montgomery form (x*R mod p, y*R mod p). */
typedef struct {
  uint64_t x[4];
  uint64_t y[4];
} sm2p256_affine;

/* The fixed-base table: base[i][j] = (j+1) * 16^i * G, affine, for i = 0..63 and j = 0..14 (about 60 KiB). */
typedef struct {
  sm2p256_affine base[64][15];
} sm2p256_precomp;

/* Fills the table (about 1,000 point operations and one inversion). Returns 1 on success, 0 if the self-check
 * (the first entry equals G, 1*G encodes to the standard generator) fails. */
int sm2p256_precompute(sm2p256_precomp *pre);

/* Decodes 04||x||y; returns 1 if x, y < p and the point is on the curve, else 0 (variable time: points are
 * public). The infinity point has no 04 encoding, so it is never accepted. */
int sm2p256_decode(sm2p256_affine *out, const uint8_t in[65]);

/* k*G, constant time in k: 64 mixed additions, each after a masked scan of the 15 entries of a table row.
 * Returns 1; 0 (out untouched) would mean the point at infinity, which k in [1, n-1] cannot give. */
int sm2p256_mul_base(uint8_t out[65], const sm2p256_precomp *pre, const uint8_t k[32]);

/* k*P, constant time in k: fixed 4-bit window over a per-call table of 0*P .. 15*P with masked scans.
 * Returns 1; 0 (out untouched) would mean the point at infinity, impossible for k in [1, n-1] and a valid P. */
int sm2p256_mul(uint8_t out[65], const uint8_t k[32], const sm2p256_affine *p);

/* a*G + b*P for secret a, b: the two constant-time multiplications above, then one complete addition.
 * Returns 0 (out untouched) when the sum is the point at infinity, else 1. */
int sm2p256_mul_base_plus_mul(uint8_t out[65], const sm2p256_precomp *pre, const uint8_t a[32], const uint8_t b[32],
                              const sm2p256_affine *p);

/* s*G + t*P for PUBLIC s, t (verification): VARIABLE TIME (table lookups indexed by s, width-5 wNAF of t with
 * Jacobian doublings and complete additions).
 * Returns 0 (out untouched) when the sum is the point at infinity, else 1. */
int sm2p256_mul_add(uint8_t out[65], const sm2p256_precomp *pre, const uint8_t s[32], const uint8_t t[32],
                    const sm2p256_affine *p);

#endif
#endif
