/* In-register transposes of VL x VL blocks for the packing routines, for
 * VL = 2, 4, 8, 16 lanes, written with two-input vector shuffles: log2(VL)
 * rounds, round b swapping the off-diagonal b x b blocks of every 2b x 2b
 * block.  GCC lowers each shuffle to one or two instructions of the target
 * (vpermt2ps on AVX-512, unpck/shuf/perm2f128 on AVX2 and SSE).
 * Generated once by a short script (masks spelled out: shuffles need
 * constants); FC_TRANSPOSE(V, IV, VL, r) transposes the array r[VL] of V.
 * IV is the integer vector type of the same lane count and width. */
#ifndef FASTCONV_TRANSPOSE_H
#define FASTCONV_TRANSPOSE_H

#define FC_TRANSPOSE_2(V, IV, r) do { \
    for (int i_ = 0; i_ < 2; i_++) if (!(i_ & 1)) { \
        V x_ = r[i_], y_ = r[i_ ^ 1]; \
        r[i_] = FC_SHUF(V, IV, x_, y_, 0, 2); \
        r[i_ ^ 1] = FC_SHUF(V, IV, x_, y_, 1, 3); \
    } \
} while (0)

#define FC_TRANSPOSE_4(V, IV, r) do { \
    for (int i_ = 0; i_ < 4; i_++) if (!(i_ & 1)) { \
        V x_ = r[i_], y_ = r[i_ ^ 1]; \
        r[i_] = FC_SHUF(V, IV, x_, y_, 0, 4, 2, 6); \
        r[i_ ^ 1] = FC_SHUF(V, IV, x_, y_, 1, 5, 3, 7); \
    } \
    for (int i_ = 0; i_ < 4; i_++) if (!(i_ & 2)) { \
        V x_ = r[i_], y_ = r[i_ ^ 2]; \
        r[i_] = FC_SHUF(V, IV, x_, y_, 0, 1, 4, 5); \
        r[i_ ^ 2] = FC_SHUF(V, IV, x_, y_, 2, 3, 6, 7); \
    } \
} while (0)

#define FC_TRANSPOSE_8(V, IV, r) do { \
    for (int i_ = 0; i_ < 8; i_++) if (!(i_ & 1)) { \
        V x_ = r[i_], y_ = r[i_ ^ 1]; \
        r[i_] = FC_SHUF(V, IV, x_, y_, 0, 8, 2, 10, 4, 12, 6, 14); \
        r[i_ ^ 1] = FC_SHUF(V, IV, x_, y_, 1, 9, 3, 11, 5, 13, 7, 15); \
    } \
    for (int i_ = 0; i_ < 8; i_++) if (!(i_ & 2)) { \
        V x_ = r[i_], y_ = r[i_ ^ 2]; \
        r[i_] = FC_SHUF(V, IV, x_, y_, 0, 1, 8, 9, 4, 5, 12, 13); \
        r[i_ ^ 2] = FC_SHUF(V, IV, x_, y_, 2, 3, 10, 11, 6, 7, 14, 15); \
    } \
    for (int i_ = 0; i_ < 8; i_++) if (!(i_ & 4)) { \
        V x_ = r[i_], y_ = r[i_ ^ 4]; \
        r[i_] = FC_SHUF(V, IV, x_, y_, 0, 1, 2, 3, 8, 9, 10, 11); \
        r[i_ ^ 4] = FC_SHUF(V, IV, x_, y_, 4, 5, 6, 7, 12, 13, 14, 15); \
    } \
} while (0)

#define FC_TRANSPOSE_16(V, IV, r) do { \
    for (int i_ = 0; i_ < 16; i_++) if (!(i_ & 1)) { \
        V x_ = r[i_], y_ = r[i_ ^ 1]; \
        r[i_] = FC_SHUF(V, IV, x_, y_, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30); \
        r[i_ ^ 1] = FC_SHUF(V, IV, x_, y_, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31); \
    } \
    for (int i_ = 0; i_ < 16; i_++) if (!(i_ & 2)) { \
        V x_ = r[i_], y_ = r[i_ ^ 2]; \
        r[i_] = FC_SHUF(V, IV, x_, y_, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29); \
        r[i_ ^ 2] = FC_SHUF(V, IV, x_, y_, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31); \
    } \
    for (int i_ = 0; i_ < 16; i_++) if (!(i_ & 4)) { \
        V x_ = r[i_], y_ = r[i_ ^ 4]; \
        r[i_] = FC_SHUF(V, IV, x_, y_, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27); \
        r[i_ ^ 4] = FC_SHUF(V, IV, x_, y_, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31); \
    } \
    for (int i_ = 0; i_ < 16; i_++) if (!(i_ & 8)) { \
        V x_ = r[i_], y_ = r[i_ ^ 8]; \
        r[i_] = FC_SHUF(V, IV, x_, y_, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23); \
        r[i_ ^ 8] = FC_SHUF(V, IV, x_, y_, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31); \
    } \
} while (0)

#if defined(__clang__)
#define FC_SHUF(V, IV, x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
#define FC_SHUF(V, IV, x, y, ...) __builtin_shuffle(x, y, (IV){__VA_ARGS__})
#endif
/* FC_BYLANES(OP, VL, ...): OP##_##VL(...), VL expanded first (callers pass
 * TLANES, itself a macro): each lane permutation below is written once per
 * lane count and picked by this one rule. */
#define FC_BYLANES_(OP, VL, ...) OP##_##VL(__VA_ARGS__)
#define FC_BYLANES(OP, VL, ...) FC_BYLANES_(OP, VL, __VA_ARGS__)

/* FC_SPREAD_LO/HI(V, IV, VL, x, z): the first / second half of x's lanes in the
 * even lanes, z's in the odd ones (z = 0: a stride-2 row segment of x). */
#define FC_SPREAD_LO_2(V, IV, x, z) FC_SHUF(V, IV, x, z, 0, 2)
#define FC_SPREAD_HI_2(V, IV, x, z) FC_SHUF(V, IV, x, z, 1, 3)
#define FC_SPREAD_LO_4(V, IV, x, z) FC_SHUF(V, IV, x, z, 0, 4, 1, 5)
#define FC_SPREAD_HI_4(V, IV, x, z) FC_SHUF(V, IV, x, z, 2, 6, 3, 7)
#define FC_SPREAD_LO_8(V, IV, x, z) FC_SHUF(V, IV, x, z, 0, 8, 1, 9, 2, 10, 3, 11)
#define FC_SPREAD_HI_8(V, IV, x, z) FC_SHUF(V, IV, x, z, 4, 12, 5, 13, 6, 14, 7, 15)
#define FC_SPREAD_LO_16(V, IV, x, z) \
    FC_SHUF(V, IV, x, z, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define FC_SPREAD_HI_16(V, IV, x, z) \
    FC_SHUF(V, IV, x, z, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
/* FC_EVENS(V, IV, VL, x, y): the even lanes of x then those of y (the
 * stride-2 elements of the 2*VL elements x, y). */
#define FC_EVENS_2(V, IV, x, y) FC_SHUF(V, IV, x, y, 0, 2)
#define FC_EVENS_4(V, IV, x, y) FC_SHUF(V, IV, x, y, 0, 2, 4, 6)
#define FC_EVENS_8(V, IV, x, y) FC_SHUF(V, IV, x, y, 0, 2, 4, 6, 8, 10, 12, 14)
#define FC_EVENS_16(V, IV, x, y) \
    FC_SHUF(V, IV, x, y, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define FC_EVENS(V, IV, VL, x, y) FC_BYLANES(FC_EVENS, VL, V, IV, x, y)
/* FC_ODDS(V, IV, VL, x, y): the odd lanes of x then those of y. */
#define FC_ODDS_2(V, IV, x, y) FC_SHUF(V, IV, x, y, 1, 3)
#define FC_ODDS_4(V, IV, x, y) FC_SHUF(V, IV, x, y, 1, 3, 5, 7)
#define FC_ODDS_8(V, IV, x, y) FC_SHUF(V, IV, x, y, 1, 3, 5, 7, 9, 11, 13, 15)
#define FC_ODDS_16(V, IV, x, y) \
    FC_SHUF(V, IV, x, y, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
#define FC_ODDS(V, IV, VL, x, y) FC_BYLANES(FC_ODDS, VL, V, IV, x, y)
#define FC_SPREAD_LO(V, IV, VL, x, z) FC_BYLANES(FC_SPREAD_LO, VL, V, IV, x, z)
#define FC_SPREAD_HI(V, IV, VL, x, z) FC_BYLANES(FC_SPREAD_HI, VL, V, IV, x, z)
#define FC_TRANSPOSE(V, IV, VL, r) FC_BYLANES(FC_TRANSPOSE, VL, V, IV, r)
/* FC_NEXT(V, IV, VL, x, y), FC_PREV(V, IV, VL, x, y): the vector one element
 * further along a row whose consecutive vectors are x, y (lanes 1..VL of x
 * then y), and the one one element back (lanes VL-1..2VL-2). */
#define FC_NEXT_2(V, IV, x, y) FC_SHUF(V, IV, x, y, 1, 2)
#define FC_PREV_2(V, IV, x, y) FC_SHUF(V, IV, x, y, 1, 2)
#define FC_NEXT_4(V, IV, x, y) FC_SHUF(V, IV, x, y, 1, 2, 3, 4)
#define FC_PREV_4(V, IV, x, y) FC_SHUF(V, IV, x, y, 3, 4, 5, 6)
#define FC_NEXT_8(V, IV, x, y) FC_SHUF(V, IV, x, y, 1, 2, 3, 4, 5, 6, 7, 8)
#define FC_PREV_8(V, IV, x, y) FC_SHUF(V, IV, x, y, 7, 8, 9, 10, 11, 12, 13, 14)
#define FC_NEXT_16(V, IV, x, y) \
    FC_SHUF(V, IV, x, y, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
#define FC_PREV_16(V, IV, x, y) \
    FC_SHUF(V, IV, x, y, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30)
#define FC_NEXT(V, IV, VL, x, y) FC_BYLANES(FC_NEXT, VL, V, IV, x, y)
#define FC_PREV(V, IV, VL, x, y) FC_BYLANES(FC_PREV, VL, V, IV, x, y)

#endif
