/* Fused CPU kernels for the RNN, LSTM and GRU layers: one call runs a whole sequence, forward
 * or backward, instead of ~30 small PyTorch operations per time step. See fused.py, which
 * compiles this file on first use, and cells.py for the same equations in plain PyTorch.
 *
 * Layout: every per-step array is (rows, B) with the batch B contiguous, so each loop runs
 * along the batch and vectorizes. Sequences are stacked in time: x is (T, I, B), the states
 * hs are (T+1, H, B) with hs[0] the initial state, and G is the number of gates times H.
 *
 * Forward, one time step: the products W_ih x_t and W_hh h_(t-1), the biases, the gates'
 * sigmoid and tanh and the cell update all happen in one pass over a register tile (8 rows by
 * a few dozen batch columns), so each pre-activation is written once, as the gate value the
 * backward pass needs. The 8 rows of a tile are the gates of whole hidden units (2 units of
 * an LSTM or GRU), which is what lets the cell update run on the tile while it is hot.
 * Backward, one time step: the element-wise derivative of the cell, then two products on
 * register tiles: the gradient flowing to h_(t-1), and the weight gradient, summed step by
 * step (no (T, G, B) buffer of gate gradients is ever needed).
 *
 * Vectors are GCC/Clang vector extensions: plain C that compiles for any CPU, 64 bytes wide
 * where AVX-512 is there and 32 elsewhere. Compiled twice: as float (the fast path) and, with
 * -DSEQPRED_DOUBLE, as double (for torch.autograd.gradcheck in the tests).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef SEQPRED_DOUBLE
typedef double real;
#define EXP exp
#else
typedef float real;
/* Cephes' polynomial for exp(r), |r| <= ln(2)/2, in Horner's form: for a float or a vector. */
#define CEPHES_EXP(r)                                                                          \
    ((((((1.9875691500e-4f * (r) + 1.3981999507e-3f) * (r) + 8.3334519073e-3f) * (r) +          \
        4.1665795894e-2f) * (r) + 1.6666665459e-1f) * (r) + 5.0000001201e-1f) * (r) * (r) +     \
     (r) + 1.0f)

/* exp for float, accurate to about 1 ulp, written so that the compiler vectorizes it (a libm
 * call inside a loop would not be). Cephes' method: exp(x) = 2^k exp(r), |r| <= ln(2)/2. */
static inline float fast_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float k = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;
    float p = CEPHES_EXP(r);
    union { int32_t i; float f; } scale;
    scale.i = ((int32_t)k + 127) << 23; /* 2^k, built from its exponent bits */
    return p * scale.f;
}
#define EXP fast_expf
#endif

/* The helpers below are kept out of line: inlined into the time loops, gcc loses track of
 * which pointers may alias and stops vectorizing them (measured: 3 to 4 times slower). */
#if defined(__GNUC__)
#define HELPER static __attribute__((noinline))
#define TILE static inline __attribute__((always_inline))
#else
#define HELPER static
#define TILE static inline
#endif

static inline real sigmoid(real x) { return (real)1 / ((real)1 + EXP(-x)); }
static inline real tanh_(real x) { return (real)2 / ((real)1 + EXP(-2 * x)) - (real)1; }

/* ---------------------------------------------------------------- vectors and register tiles
 * A tile holds TR rows by NV vectors of VL batch columns in registers: 8 x 2 x 16 floats with
 * AVX-512 (16 of its 32 vector registers), 8 x 1 x 8 elsewhere. */
#if defined(__AVX512F__)
#define VBYTES 64
#define NV 2
#else
#define VBYTES 32
#define NV 1
#endif
#define VL (VBYTES / (int)sizeof(real))
#define TR 8
#define TC (NV * VL) /* batch columns of a tile */
typedef real vec __attribute__((vector_size(VBYTES)));
typedef real vec_u __attribute__((vector_size(VBYTES), aligned(sizeof(real)))); /* unaligned */
static inline vec load(const real *p) { return *(const vec_u *)p; }
static inline void store(real *p, vec v) { *(vec_u *)p = v; }

#define MAX_SIZE 4096 /* input and hidden sizes the kernels take (fused.py checks) */

/* The batch columns of a register tile: batches of this many, one more and one fewer take the
 * full-tile path, the leftover path and both (the tests try each). */
int tile_columns(void) { return TC; }
static const real ZEROS[MAX_SIZE]; /* a weight row of zeros, for the rows a tile does not use */

/* pre (TR, TC) = bias + sum_k a[q][k sa] x[k] + sum_k b[q][k sb] h[k], for the batch columns
 * b0 .. b0 + cols of the ld-strided sources x (Ka rows) and h (Kb rows). a[q] and b[q] point at
 * row q's weights (sa, sb apart), or at zeros. The full-width case runs in registers. */
TILE void tile_product(real pre[TR][TC], const real *const a[TR], int64_t sa, const real *x,
                       int Ka, const real *const b[TR], int64_t sb, const real *h, int Kb,
                       const real bias[TR], int64_t ld, int cols) {
    if (cols == TC) {
        vec acc[TR][NV];
        for (int q = 0; q < TR; q++)
            for (int j = 0; j < NV; j++) acc[q][j] = (vec){0} + bias[q];
        for (int k = 0; k < Ka; k++) {
            vec v[NV];
            for (int j = 0; j < NV; j++) v[j] = load(x + k * ld + j * VL);
            for (int q = 0; q < TR; q++)
                for (int j = 0; j < NV; j++) acc[q][j] += a[q][k * sa] * v[j];
        }
        for (int k = 0; k < Kb; k++) {
            vec v[NV];
            for (int j = 0; j < NV; j++) v[j] = load(h + k * ld + j * VL);
            for (int q = 0; q < TR; q++)
                for (int j = 0; j < NV; j++) acc[q][j] += b[q][k * sb] * v[j];
        }
        for (int q = 0; q < TR; q++)
            for (int j = 0; j < NV; j++) store(pre[q] + j * VL, acc[q][j]);
        return;
    }
    for (int q = 0; q < TR; q++) { /* the batch columns left over, row by row */
        for (int i = 0; i < cols; i++) pre[q][i] = bias[q];
        for (int k = 0; k < Ka; k++)
            for (int i = 0; i < cols; i++) pre[q][i] += a[q][k * sa] * x[k * ld + i];
        for (int k = 0; k < Kb; k++)
            for (int i = 0; i < cols; i++) pre[q][i] += b[q][k * sb] * h[k * ld + i];
    }
}

/* out (M, B) = [out +] W h for h (K, B), with W(m, k) = w[m * ws_m + k * ws_k]: the strides
 * let the backward pass multiply by W transposed without copying it. */
HELPER void matmul(real *restrict out, const real *restrict w, int64_t ws_m, int64_t ws_k,
                   const real *restrict h, int M, int K, int B, int accumulate) {
    const real *rows[TR], *none[TR];
    real zero[TR] = {0}, pre[TR][TC];
    for (int m0 = 0; m0 < M; m0 += TR) {
        int mr = M - m0 < TR ? M - m0 : TR;
        for (int q = 0; q < TR; q++) {
            rows[q] = w + (int64_t)(q < mr ? m0 + q : m0) * ws_m; /* spare rows: ignored */
            none[q] = ZEROS;
        }
        for (int b0 = 0; b0 < B; b0 += TC) {
            int cols = B - b0 < TC ? B - b0 : TC;
            tile_product(pre, none, 1, h + b0, 0, rows, ws_k, h + b0, K, zero, B, cols);
            for (int q = 0; q < mr; q++) {
                real *o = out + (int64_t)(m0 + q) * B + b0;
                if (accumulate)
                    for (int i = 0; i < cols; i++) o[i] += pre[q][i];
                else
                    memcpy(o, pre[q], cols * sizeof(real));
            }
        }
    }
}

/* out (M, K) += a (M, B) b (K, B)^T: a weight gradient, summed over the batch. Tiles of MA rows
 * of a by KB rows of b keep MA * KB vector sums in registers; the rest falls back to dot(). */
#define MA 2
#define KB 5
HELPER real dot(const real *restrict a, const real *restrict b, int B) {
    vec acc = (vec){0};
    int i = 0;
    for (; i + VL <= B; i += VL) acc += load(a + i) * load(b + i);
    real sum = 0;
    for (int l = 0; l < VL; l++) sum += acc[l];
    for (; i < B; i++) sum += a[i] * b[i];
    return sum;
}

HELPER void accumulate_outer(real *restrict out, const real *restrict a, const real *restrict b,
                             int M, int K, int B) {
    int bf = B - B % VL, m_full = M - M % MA, k_full = K - K % KB;
    for (int m0 = 0; m0 < m_full; m0 += MA)
        for (int k0 = 0; k0 < k_full; k0 += KB) {
            vec acc[MA][KB];
            for (int q = 0; q < MA; q++)
                for (int r = 0; r < KB; r++) acc[q][r] = (vec){0};
            for (int i = 0; i < bf; i += VL) {
                vec va[MA], vb[KB];
                for (int q = 0; q < MA; q++) va[q] = load(a + (int64_t)(m0 + q) * B + i);
                for (int r = 0; r < KB; r++) vb[r] = load(b + (int64_t)(k0 + r) * B + i);
                for (int q = 0; q < MA; q++)
                    for (int r = 0; r < KB; r++) acc[q][r] += va[q] * vb[r];
            }
            for (int q = 0; q < MA; q++)
                for (int r = 0; r < KB; r++) {
                    real sum = 0;
                    for (int l = 0; l < VL; l++) sum += acc[q][r][l];
                    for (int i = bf; i < B; i++)
                        sum += a[(int64_t)(m0 + q) * B + i] * b[(int64_t)(k0 + r) * B + i];
                    out[(m0 + q) * K + k0 + r] += sum;
                }
        }
    for (int m = 0; m < M; m++)
        for (int k = (m < m_full ? k_full : 0); k < K; k++)
            out[m * K + k] += dot(a + (int64_t)m * B, b + (int64_t)k * B, B);
}

/* out (M) += the sum over the batch of a (M, B): a bias gradient. */
HELPER void accumulate_rows(real *restrict out, const real *restrict a, int M, int B) {
    for (int m = 0; m < M; m++) {
        const real *restrict row = a + (int64_t)m * B;
        vec acc = (vec){0};
        int i = 0;
        for (; i + VL <= B; i += VL) acc += load(row + i);
        real sum = 0;
        for (int l = 0; l < VL; l++) sum += acc[l];
        for (; i < B; i++) sum += row[i];
        out[m] += sum;
    }
}

/* Everything a step's pre-activation gradients dgi (into W_ih x + b_ih) and dgh (into
 * W_hh h + b_hh) contribute: the input gradient dx_t = W_ih^T dgi (skipped when dx is NULL:
 * the first layer's input needs none), and the weight gradients. The bias gradients are the
 * batch sums of dgi and dgh; the caller adds them once dgi == dgh is known. */
HELPER void step_gradients(const real *dgi, const real *dgh, const real *x, const real *h_old,
                           const real *w_ih, real *dx, real *dw_ih, real *dw_hh, int I, int H,
                           int G, int B) {
    if (dx) matmul(dx, w_ih, 1, I, dgi, I, G, B, 0);
    accumulate_outer(dw_ih, dgi, x, G, I, B);
    accumulate_outer(dw_hh, dgh, h_old, G, H, B);
}

/* ---------------------------------------------------------------- the gates' functions
 * sigmoid and tanh on whole vectors, with exp computed as above (2^k times a polynomial). A
 * reciprocal estimate with a Newton step instead of the division measured no faster here.
 * The double build computes them one lane at a time. */
#if defined(SEQPRED_DOUBLE)
static inline vec vsigmoid(vec x) {
    for (int l = 0; l < VL; l++) x[l] = sigmoid(x[l]);
    return x;
}
static inline vec vtanh(vec x) {
    for (int l = 0; l < VL; l++) x[l] = tanh_(x[l]);
    return x;
}
#else
typedef int32_t ivec __attribute__((vector_size(VBYTES)));
static inline vec vselect(ivec mask, vec a, vec b) {
    return (vec)((mask & (ivec)a) | (~mask & (ivec)b));
}
static inline vec vexp(vec x) {
    x = vselect(x < -87.0f, (vec){0} - 87.0f, x);
    x = vselect(x > 88.0f, (vec){0} + 88.0f, x);
    vec k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(x / ln 2) */
    vec r = x - k * 0.693359375f + k * 2.12194440e-4f;
    vec p = CEPHES_EXP(r);
    ivec e = (__builtin_convertvector(k, ivec) + 127) << 23; /* 2^k, from its exponent bits */
    return p * (vec)e;
}
static inline vec vsigmoid(vec x) { return 1.0f / (1.0f + vexp(-x)); }
static inline vec vtanh(vec x) { return 2.0f / (1.0f + vexp(-2.0f * x)) - 1.0f; }
#endif

/* ---------------------------------------------------------------- the cells, element-wise
 * Whole vectors while they last, then the same arithmetic one element at a time. */
HELPER void tanh_rows(int n, real *restrict out, const real *restrict pre) {
    int k = 0;
    for (; k + VL <= n; k += VL) store(out + k, vtanh(load(pre + k)));
    for (; k < n; k++) out[k] = tanh_(pre[k]);
}

/* LSTM: from the 4 pre-activation rows of one unit to its gates, cell state and output. */
HELPER void lstm_cell(int n, const real *restrict pi, const real *restrict pf,
                      const real *restrict pg, const real *restrict po, const real *restrict c_old,
                      real *restrict i_, real *restrict f_, real *restrict g_, real *restrict o_,
                      real *restrict c, real *restrict tc, real *restrict h) {
    int k = 0;
    for (; k + VL <= n; k += VL) {
        vec i = vsigmoid(load(pi + k)), f = vsigmoid(load(pf + k)), g = vtanh(load(pg + k));
        vec o = vsigmoid(load(po + k));
        vec cn = f * load(c_old + k) + i * g; /* read before written: c may be c_old */
        vec t = vtanh(cn);
        store(i_ + k, i), store(f_ + k, f), store(g_ + k, g), store(o_ + k, o);
        store(c + k, cn), store(tc + k, t), store(h + k, o * t);
    }
    for (; k < n; k++) {
        real i = sigmoid(pi[k]), f = sigmoid(pf[k]), g = tanh_(pg[k]), o = sigmoid(po[k]);
        real cn = f * c_old[k] + i * g;
        real t = tanh_(cn);
        i_[k] = i, f_[k] = f, g_[k] = g, o_[k] = o;
        c[k] = cn, tc[k] = t, h[k] = o * t;
    }
}

/* GRU (PyTorch's convention): r, z from the sums; n from the input part plus r times the
 * recurrent part; h' = n + z (h - n). Keeps r, z, n and the recurrent part for the backward. */
HELPER void gru_cell(int n, const real *restrict pr, const real *restrict pz,
                     const real *restrict pn_in, const real *restrict pn_rec,
                     const real *restrict h_old, real *restrict r_, real *restrict z_,
                     real *restrict n_, real *restrict yn_, real *restrict h) {
    int k = 0;
    for (; k + VL <= n; k += VL) {
        vec r = vsigmoid(load(pr + k)), z = vsigmoid(load(pz + k)), rec = load(pn_rec + k);
        vec nn = vtanh(load(pn_in + k) + r * rec); /* the reset gate acts after the product */
        store(r_ + k, r), store(z_ + k, z), store(n_ + k, nn), store(yn_ + k, rec);
        store(h + k, nn + z * (load(h_old + k) - nn));
    }
    for (; k < n; k++) {
        real r = sigmoid(pr[k]), z = sigmoid(pz[k]);
        real nn = tanh_(pn_in[k] + r * pn_rec[k]);
        r_[k] = r, z_[k] = z, n_[k] = nn, yn_[k] = pn_rec[k];
        h[k] = nn + z * (h_old[k] - nn);
    }
}

/* dg = (dh + d) (1 - h^2): through the RNN's tanh. */
HELPER void rnn_cell_backward(int64_t n, const real *restrict h, const real *restrict d,
                              const real *restrict dh, real *restrict dg) {
    for (int64_t i = 0; i < n; i++) dg[i] = (dh[i] + d[i]) * (1 - h[i] * h[i]);
}

HELPER void lstm_cell_backward(int64_t n, const real *restrict ig, const real *restrict fg,
                               const real *restrict gg, const real *restrict og,
                               const real *restrict c_old, const real *restrict tc,
                               const real *restrict d, real *restrict di, real *restrict df,
                               real *restrict dgg, real *restrict dog, real *restrict dh,
                               real *restrict dc) {
    for (int64_t i = 0; i < n; i++) {
        real dht = dh[i] + d[i];
        real dct = dc[i] + dht * og[i] * (1 - tc[i] * tc[i]);
        di[i] = dct * gg[i] * ig[i] * (1 - ig[i]);    /* input gate */
        df[i] = dct * c_old[i] * fg[i] * (1 - fg[i]); /* forget gate */
        dgg[i] = dct * ig[i] * (1 - gg[i] * gg[i]);   /* candidate */
        dog[i] = dht * tc[i] * og[i] * (1 - og[i]);   /* output gate */
        dc[i] = dct * fg[i];
    }
}

HELPER void gru_cell_backward(int64_t n_, const real *restrict r, const real *restrict z,
                              const real *restrict n, const real *restrict yn,
                              const real *restrict h, const real *restrict d,
                              real *restrict dr, real *restrict dz, real *restrict dn,
                              real *restrict dr_h, real *restrict dz_h, real *restrict dn_h,
                              real *restrict dh) {
    for (int64_t i = 0; i < n_; i++) {
        real dht = dh[i] + d[i];
        dn[i] = dht * (1 - z[i]) * (1 - n[i] * n[i]);
        dz[i] = dht * (h[i] - n[i]) * z[i] * (1 - z[i]);
        dr[i] = dn[i] * yn[i] * r[i] * (1 - r[i]);
        dr_h[i] = dr[i];
        dz_h[i] = dz[i];
        dn_h[i] = dn[i] * r[i]; /* the reset gate scales the recurrent part of n */
        dh[i] = dht * z[i];
    }
}

/* ---------------------------------------------------------------- the layers
 * Shapes shared by the kernels below: x, dx (T, I, B); hs (T+1, H, B); dout (T, H, B), the
 * gradient reaching each output h_t from above; dh (H, B), in: the gradient of h_T from
 * elsewhere, out: that of h_0 (dc likewise for the LSTM's cell state). The weight and bias
 * gradients dw_ih (G, I), dw_hh (G, H), db_ih, db_hh (G) are added to, so pass zeros.
 * `keep`: 1 when training, so that every step's gates are kept for the backward pass; 0 for
 * inference, where one step's worth of scratch is reused. I and H are at most MAX_SIZE. */
#define STEP(p, t, rows) ((p) + (int64_t)(t) * (rows) * B)
#define KEPT(p, t, rows) ((p) + (keep ? (int64_t)(t) * (rows) * B : 0))

/* What one row of a tile computes: nothing (a spare row past the last unit), both parts of a
 * weight row (W_ih x + b_ih + W_hh h + b_hh), or one part alone (the GRU's n keeps its input
 * part W_in x + b_in apart from its recurrent part W_hn h + b_hn). The row of W and its kind
 * are two fields, so no row number can be mistaken for a kind. */
enum part { UNUSED, BOTH, INPUT_ONLY, RECURRENT_ONLY };
struct tile_row {
    int row;        /* gate * H + unit: the row of w_ih, w_hh, b_ih and b_hh */
    enum part part; /* which of them this tile row sums */
};

/* The weight rows and bias of the 8 rows of a tile, from what each row computes. */
TILE void tile_rows(const struct tile_row rows[TR], const real *w_ih, const real *w_hh,
                    const real *b_ih, const real *b_hh, int I, int H, const real *a[TR],
                    const real *b[TR], real bias[TR]) {
    for (int q = 0; q < TR; q++) {
        int64_t r = rows[q].row;
        enum part part = rows[q].part;
        int in = part == BOTH || part == INPUT_ONLY, rec = part == BOTH || part == RECURRENT_ONLY;
        a[q] = in ? w_ih + r * I : ZEROS;
        b[q] = rec ? w_hh + r * H : ZEROS;
        bias[q] = (in ? b_ih[r] : 0) + (rec ? b_hh[r] : 0);
    }
}

/* A step's tile of pre-activations, W_ih x_t + b_ih + W_hh h_(t-1) + b_hh, for the batch
 * columns b0 .. (a full tile, or those left over); returns how many columns. */
TILE int step_product(real pre[TR][TC], const real *const a[TR], const real *const b[TR],
                      const real bias[TR], const real *x_t, const real *h_t, int I, int H, int B,
                      int b0) {
    int cols = B - b0 < TC ? B - b0 : TC;
    tile_product(pre, a, 1, x_t + b0, I, b, 1, h_t + b0, H, bias, B, cols);
    return cols;
}

/* ---------------------------------------------------------------- vanilla RNN
 * h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh); a tile is 8 hidden units. */
void rnn_forward(int T, int B, int I, int H, const real *x, const real *w_ih, const real *w_hh,
                 const real *b_ih, const real *b_hh, real *hs) {
    real pre[TR][TC], bias[TR];
    const real *a[TR], *b[TR];
    for (int t = 0; t < T; t++)
        for (int u0 = 0; u0 < H; u0 += TR) {
            int units = H - u0 < TR ? H - u0 : TR;
            struct tile_row rows[TR];
            for (int q = 0; q < TR; q++)
                rows[q] = (struct tile_row){u0 + q, q < units ? BOTH : UNUSED};
            tile_rows(rows, w_ih, w_hh, b_ih, b_hh, I, H, a, b, bias);
            for (int b0 = 0; b0 < B; b0 += TC) {
                int cols =
                    step_product(pre, a, b, bias, STEP(x, t, I), STEP(hs, t, H), I, H, B, b0);
                for (int q = 0; q < units; q++)
                    tanh_rows(cols, STEP(hs, t + 1, H) + (int64_t)(u0 + q) * B + b0, pre[q]);
            }
        }
}

/* dg: (H, B) scratch for the pre-activation gradient of one step. */
void rnn_backward(int T, int B, int I, int H, const real *dout, const real *x, const real *w_ih,
                  const real *w_hh, const real *hs, real *dx, real *dw_ih, real *dw_hh,
                  real *db_ih, real *db_hh, real *dh, real *dg) {
    for (int t = T - 1; t >= 0; t--) {
        const real *h = STEP(hs, t + 1, H), *d = STEP(dout, t, H);
        rnn_cell_backward((int64_t)H * B, h, d, dh, dg);
        step_gradients(dg, dg, STEP(x, t, I), STEP(hs, t, H), w_ih, dx ? STEP(dx, t, I) : 0,
                       dw_ih, dw_hh, I, H, H, B);
        accumulate_rows(db_ih, dg, H, B);
        matmul(dh, w_hh, 1, H, dg, H, H, B, 0); /* dh = W_hh^T dg */
    }
    memcpy(db_hh, db_ih, H * sizeof(real)); /* both biases get the same gradient */
}

/* ---------------------------------------------------------------- LSTM
 * gates in PyTorch's order i, f, g, o; c_t = f c_(t-1) + i g; h_t = o tanh(c_t); a tile is the
 * 4 gates of 2 units. gates: (T, 4H, B) activations; cs: (T+1, H, B) cell states; tcs:
 * (T, H, B) tanh(c_t) (with keep = 0: one step each, and cs updated in place). */
void lstm_forward(int T, int B, int I, int H, int keep, const real *x, const real *w_ih,
                  const real *w_hh, const real *b_ih, const real *b_hh, real *hs, real *cs,
                  real *gates, real *tcs) {
    real pre[TR][TC], bias[TR];
    const real *a[TR], *b[TR];
    int64_t HB = (int64_t)H * B;
    for (int t = 0; t < T; t++) {
        real *gt = KEPT(gates, t, 4 * H), *tc = KEPT(tcs, t, H);
        const real *c_old = KEPT(cs, t, H);
        real *c_new = KEPT(cs, keep ? t + 1 : 0, H);
        for (int u0 = 0; u0 < H; u0 += 2) {
            int units = H - u0 < 2 ? 1 : 2;
            struct tile_row rows[TR];
            for (int q = 0; q < TR; q++) { /* gate q % 4 of unit u0 + q / 4 */
                int row = (q % 4) * H + u0 + q / 4;
                rows[q] = (struct tile_row){row, q / 4 < units ? BOTH : UNUSED};
            }
            tile_rows(rows, w_ih, w_hh, b_ih, b_hh, I, H, a, b, bias);
            for (int b0 = 0; b0 < B; b0 += TC) {
                int cols =
                    step_product(pre, a, b, bias, STEP(x, t, I), STEP(hs, t, H), I, H, B, b0);
                for (int64_t v = 0, row = (int64_t)u0 * B + b0; v < units; v++, row += B)
                    lstm_cell(cols, pre[4 * v], pre[4 * v + 1], pre[4 * v + 2], pre[4 * v + 3],
                              c_old + row, gt + row, gt + HB + row, gt + 2 * HB + row,
                              gt + 3 * HB + row, c_new + row, tc + row, STEP(hs, t + 1, H) + row);
            }
        }
    }
}

/* dg: (4H, B) scratch; the pre-activation gradient is the same for both products. */
void lstm_backward(int T, int B, int I, int H, const real *dout, const real *x,
                   const real *w_ih, const real *w_hh, const real *hs, const real *cs,
                   const real *gates, const real *tcs, real *dx, real *dw_ih, real *dw_hh,
                   real *db_ih, real *db_hh, real *dh, real *dc, real *dg) {
    int64_t HB = (int64_t)H * B;
    for (int t = T - 1; t >= 0; t--) {
        const real *a = STEP(gates, t, 4 * H);
        lstm_cell_backward(HB, a, a + HB, a + 2 * HB, a + 3 * HB, STEP(cs, t, H),
                           STEP(tcs, t, H), STEP(dout, t, H), dg, dg + HB, dg + 2 * HB,
                           dg + 3 * HB, dh, dc);
        step_gradients(dg, dg, STEP(x, t, I), STEP(hs, t, H), w_ih, dx ? STEP(dx, t, I) : 0,
                       dw_ih, dw_hh, I, H, 4 * H, B);
        accumulate_rows(db_ih, dg, 4 * H, B);
        matmul(dh, w_hh, 1, H, dg, H, 4 * H, B, 0); /* dh = W_hh^T dg */
    }
    memcpy(db_hh, db_ih, 4 * H * sizeof(real));
}

/* ---------------------------------------------------------------- GRU (PyTorch's convention)
 * r, z = sigmoid(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r (W_hn h + b_hn));
 * h' = n + z (h - n). A tile is 2 units, each as 4 rows: r and z (both parts summed), and n's
 * input and recurrent parts apart. gates: (T, 4H, B) keeps r, z, n and W_hn h + b_hn. */
void gru_forward(int T, int B, int I, int H, int keep, const real *x, const real *w_ih,
                 const real *w_hh, const real *b_ih, const real *b_hh, real *hs, real *gates) {
    real pre[TR][TC], bias[TR];
    const real *a[TR], *b[TR];
    int64_t HB = (int64_t)H * B;
    for (int t = 0; t < T; t++) {
        real *gt = KEPT(gates, t, 4 * H);
        for (int u0 = 0; u0 < H; u0 += 2) {
            int units = H - u0 < 2 ? 1 : 2;
            struct tile_row rows[TR];
            for (int v = 0; v < 2; v++) {
                int u = u0 + v, use = v < units;
                rows[4 * v] = (struct tile_row){u, use ? BOTH : UNUSED};         /* r */
                rows[4 * v + 1] = (struct tile_row){H + u, use ? BOTH : UNUSED}; /* z */
                rows[4 * v + 2] = (struct tile_row){2 * H + u, use ? INPUT_ONLY : UNUSED};
                rows[4 * v + 3] = (struct tile_row){2 * H + u, use ? RECURRENT_ONLY : UNUSED};
            }
            tile_rows(rows, w_ih, w_hh, b_ih, b_hh, I, H, a, b, bias);
            for (int b0 = 0; b0 < B; b0 += TC) {
                int cols =
                    step_product(pre, a, b, bias, STEP(x, t, I), STEP(hs, t, H), I, H, B, b0);
                for (int64_t v = 0, row = (int64_t)u0 * B + b0; v < units; v++, row += B)
                    gru_cell(cols, pre[4 * v], pre[4 * v + 1], pre[4 * v + 2], pre[4 * v + 3],
                             STEP(hs, t, H) + row, gt + row, gt + HB + row, gt + 2 * HB + row,
                             gt + 3 * HB + row, STEP(hs, t + 1, H) + row);
            }
        }
    }
}

/* dgi, dgh: (3H, B) scratch, the gradients of the input and recurrent pre-activations (they
 * differ in the n block, where the reset gate multiplies the recurrent part). */
void gru_backward(int T, int B, int I, int H, const real *dout, const real *x, const real *w_ih,
                  const real *w_hh, const real *hs, const real *gates, real *dx, real *dw_ih,
                  real *dw_hh, real *db_ih, real *db_hh, real *dh, real *dgi, real *dgh) {
    int64_t HB = (int64_t)H * B;
    for (int t = T - 1; t >= 0; t--) {
        const real *a = STEP(gates, t, 4 * H);
        gru_cell_backward(HB, a, a + HB, a + 2 * HB, a + 3 * HB, STEP(hs, t, H),
                          STEP(dout, t, H), dgi, dgi + HB, dgi + 2 * HB, dgh, dgh + HB,
                          dgh + 2 * HB, dh);
        step_gradients(dgi, dgh, STEP(x, t, I), STEP(hs, t, H), w_ih, dx ? STEP(dx, t, I) : 0,
                       dw_ih, dw_hh, I, H, 3 * H, B);
        accumulate_rows(db_ih, dgi, 3 * H, B);
        accumulate_rows(db_hh, dgh, 3 * H, B);
        matmul(dh, w_hh, 1, H, dgh, H, 3 * H, B, 1); /* dh += W_hh^T dgh */
    }
}
