/** @module Interface wasi:random/random@0.2.6 **/
/**
 * Return `len` cryptographically-secure random or pseudo-random bytes.
 * 
 * This function must produce data at least as cryptographically secure and fast as an
 * adequately seeded cryptographically-secure pseudo-random number generator (CSPRNG).
 */
export function getRandomBytes(len: bigint): Uint8Array;
/**
 * Return a cryptographically-secure random or pseudo-random `u64` value.
 * 
 * This function returns the same type of data as `get-random-bytes`, represented as a `u64`.
 */
export function getRandomU64(): bigint;
