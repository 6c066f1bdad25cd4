/* Fused CPU kernels for the RNN, LSTM and GRU layers: one call runs a whole sequence, forward
 * or backward, instead of ~30 small PyTorch operations per time step. See fused.py, which
 * compiles this file on first use, and cells.py for the same equations in plain PyTorch.
 *
 * Layout: every per-step array is (rows, B) with the batch B contiguous, so each loop runs
 * along the batch and vectorizes. Sequences are stacked in time: x is (T, I, B), the states
 * hs are (T+1, H, B) with hs[0] the initial state, and G is the number of gates times H.
 * The backward kernels also accumulate the weight and bias gradients step by step, so no
 * (T, G, B) buffer of gate gradients is ever needed.
 *
 * Compiled twice: as float (the fast path) and, with -DSEQPRED_DOUBLE, as double (for
 * torch.autograd.gradcheck in the tests).
 */
#include <math.h>
#include <stdint.h>

#ifdef SEQPRED_DOUBLE
typedef double real;
#define EXP exp
#else
typedef float real;
/* exp for float, accurate to about 1 ulp, written so that the compiler vectorizes it (a libm
 * call inside a loop would not be). Cephes' method: exp(x) = 2^k exp(r), |r| <= ln(2)/2. */
static inline float fast_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float k = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
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
#else
#define HELPER static
#endif

static inline real sigmoid(real x) { return (real)1 / ((real)1 + EXP(-x)); }
static inline real tanh_(real x) { return (real)2 / ((real)1 + EXP(-2 * x)) - (real)1; }

/* out (M, B) = [out +] bias + W h, where W(m, k) = w[m * ws_m + k * ws_k] and h is (K, B).
 * The strides let the backward pass multiply by W transposed without copying it. Blocked over
 * ROWS rows and COLS batch columns, so that the accumulators stay in vector registers. */
#ifndef ROWS
#define ROWS 8
#endif
#ifndef COLS
#define COLS 32
#endif
HELPER void matmul(real *restrict out, const real *restrict w, int64_t ws_m, int64_t ws_k,
                   const real *restrict bias, const real *restrict h, int M, int K, int B,
                   int accumulate) {
    int b_full = B - B % COLS;
    for (int m0 = 0; m0 < M; m0 += ROWS) {
        int rows = M - m0 < ROWS ? M - m0 : ROWS;
        real wk[ROWS]; /* one column of the block of W, reloaded for every k */
        for (int b0 = 0; b0 < b_full; b0 += COLS) {
            real acc[ROWS][COLS] = {{0}};
            for (int k = 0; k < K; k++) {
                const real *restrict hk = h + (int64_t)k * B + b0;
                for (int q = 0; q < ROWS; q++) wk[q] = q < rows ? w[(m0 + q) * ws_m + k * ws_k] : 0;
                for (int q = 0; q < ROWS; q++)
                    for (int i = 0; i < COLS; i++) acc[q][i] += wk[q] * hk[i];
            }
            for (int q = 0; q < rows; q++) {
                real *restrict o = out + (int64_t)(m0 + q) * B + b0;
                real base = bias ? bias[m0 + q] : 0;
                if (accumulate)
                    for (int i = 0; i < COLS; i++) o[i] += base + acc[q][i];
                else
                    for (int i = 0; i < COLS; i++) o[i] = base + acc[q][i];
            }
        }
    }
    /* The batch columns left over (B not a multiple of COLS): the same sums, row by row, still
     * vectorized along the batch. */
    int n = B - b_full;
    for (int m = 0; m < M && n > 0; m++) {
        real *restrict o = out + (int64_t)m * B + b_full;
        real base = bias ? bias[m] : 0;
        for (int i = 0; i < n; i++) o[i] = (accumulate ? o[i] : 0) + base;
        for (int k = 0; k < K; k++) {
            real wmk = w[m * ws_m + k * ws_k];
            const real *restrict hk = h + (int64_t)k * B + b_full;
            for (int i = 0; i < n; i++) o[i] += wmk * hk[i];
        }
    }
}

/* Sums over the batch, which is where float rounding order matters: each keeps LANES partial
 * sums (one vector register) and adds them up at the end, so the compiler can vectorize. */
#define LANES 16
HELPER real dot(const real *restrict a, const real *restrict b, int B) {
    real lane[LANES] = {0};
    int i = 0;
    for (; i + LANES <= B; i += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += a[i + l] * b[i + l];
    real sum = 0;
    for (int l = 0; l < LANES; l++) sum += lane[l];
    for (; i < B; i++) sum += a[i] * b[i];
    return sum;
}

/* out (M, K) += a (M, B) b (K, B)^T: the weight gradient of one step. Blocks of OUTER_ROWS
 * rows of a share each load of a row of b (the size that measured fastest); the rows left over
 * fall back to plain dot products. */
#define OUTER_ROWS 10
HELPER void accumulate_outer(real *restrict out, const real *restrict a, const real *restrict b,
                             int M, int K, int B) {
    int m_full = M - M % OUTER_ROWS, b_full = B - B % LANES;
    for (int m0 = 0; m0 < m_full; m0 += OUTER_ROWS)
        for (int k = 0; k < K; k++) {
            const real *restrict a0 = a + (int64_t)m0 * B, *restrict bk = b + (int64_t)k * B;
            real acc[OUTER_ROWS][LANES] = {{0}};
            for (int i = 0; i < b_full; i += LANES)
                for (int q = 0; q < OUTER_ROWS; q++)
                    for (int l = 0; l < LANES; l++)
                        acc[q][l] += a0[(int64_t)q * B + i + l] * bk[i + l];
            for (int q = 0; q < OUTER_ROWS; q++) {
                real sum = 0;
                for (int l = 0; l < LANES; l++) sum += acc[q][l];
                for (int i = b_full; i < B; i++) sum += a0[(int64_t)q * B + i] * bk[i];
                out[(m0 + q) * K + k] += sum;
            }
        }
    for (int m = m_full; m < M; m++)
        for (int k = 0; k < K; k++) out[m * K + k] += dot(a + (int64_t)m * B, b + (int64_t)k * B, B);
}

/* out (M) += the sum over the batch of a (M, B): a bias gradient. */
HELPER void accumulate_rows(real *restrict out, const real *restrict a, int M, int B) {
    real lane[LANES] = {0};
    for (int m = 0; m < M; m++) {
        const real *restrict row = a + (int64_t)m * B;
        for (int l = 0; l < LANES; l++) lane[l] = 0;
        int i = 0;
        for (; i + LANES <= B; i += LANES)
            for (int l = 0; l < LANES; l++) lane[l] += row[i + l];
        real sum = 0;
        for (int l = 0; l < LANES; l++) sum += lane[l];
        for (; i < B; i++) sum += row[i];
        out[m] += sum;
    }
}

/* Everything a step's pre-activation gradients dgi (into W_ih x + b_ih) and dgh (into
 * W_hh h + b_hh) contribute: the input gradient dx_t = W_ih^T dgi, and the weight and bias
 * gradients. */
HELPER void step_gradients(const real *dgi, const real *dgh, const real *x, const real *h_old,
                           const real *w_ih, real *dx, real *dw_ih, real *dw_hh, real *db_ih,
                           real *db_hh, int I, int H, int G, int B) {
    matmul(dx, w_ih, 1, I, 0, dgi, I, G, B, 0); /* dx = W_ih^T dgi */
    accumulate_outer(dw_ih, dgi, x, G, I, B);
    accumulate_outer(dw_hh, dgh, h_old, G, H, B);
    accumulate_rows(db_ih, dgi, G, B);
    accumulate_rows(db_hh, dgh, G, B);
}

/* The element-wise part of each cell, one function each: gcc trusts `restrict` on function
 * parameters (not on local pointers), which is what lets it vectorize these loops. */
HELPER void tanh_in_place(int64_t n, real *restrict a) {
    for (int64_t i = 0; i < n; i++) a[i] = tanh_(a[i]);
}

/* dg = (dh + d) (1 - h^2): through the RNN's tanh. */
HELPER void rnn_cell_backward(int64_t n, const real *restrict h, const real *restrict d,
                              const real *restrict dh, real *restrict dg) {
    for (int64_t i = 0; i < n; i++) dg[i] = (dh[i] + d[i]) * (1 - h[i] * h[i]);
}

/* Pre-activations (4H, B) to gate values, in place: sigmoid for i, f, o; tanh for g. */
HELPER void lstm_gates(int64_t n, real *restrict a) {
    for (int64_t i = 0; i < 2 * n; i++) a[i] = sigmoid(a[i]);
    for (int64_t i = 2 * n; i < 3 * n; i++) a[i] = tanh_(a[i]);
    for (int64_t i = 3 * n; i < 4 * n; i++) a[i] = sigmoid(a[i]);
}

HELPER void lstm_cell(int64_t n, const real *restrict ig, const real *restrict fg,
                      const real *restrict gg, const real *restrict og,
                      const real *restrict c_old, real *restrict c, real *restrict tc,
                      real *restrict h) {
    for (int64_t i = 0; i < n; i++) {
        c[i] = fg[i] * c_old[i] + ig[i] * gg[i];
        tc[i] = tanh_(c[i]);
        h[i] = og[i] * tc[i];
    }
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

/* out = sigmoid(x + y), element-wise. */
HELPER void sigmoid_of_sum(int64_t n, const real *restrict x, const real *restrict y,
                           real *restrict out) {
    for (int64_t i = 0; i < n; i++) out[i] = sigmoid(x[i] + y[i]);
}

HELPER void gru_cell(int64_t n_, const real *restrict r, const real *restrict z,
                     const real *restrict xn, const real *restrict yn, const real *restrict h,
                     real *restrict n, real *restrict yn_saved, real *restrict h_new) {
    for (int64_t i = 0; i < n_; i++) {
        n[i] = tanh_(xn[i] + r[i] * yn[i]); /* reset applied after the recurrent product */
        yn_saved[i] = yn[i];
        h_new[i] = n[i] + z[i] * (h[i] - n[i]);
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

/* Shapes shared by the kernels below: x, dx (T, I, B); hs (T+1, H, B); dout (T, H, B), the
 * gradient reaching each output h_t from above; dh (H, B), in: the gradient of h_T from
 * elsewhere, out: that of h_0 (dc likewise for the LSTM's cell state). The weight and bias
 * gradients dw_ih (G, I), dw_hh (G, H), db_ih, db_hh (G) are added to, so pass zeros. */
#define STEP(p, t, rows) ((p) + (int64_t)(t) * (rows) * B)

/* ---------------------------------------------------------------- vanilla RNN
 * h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) */
void rnn_forward(int T, int B, int I, int H, const real *x, const real *w_ih, const real *w_hh,
                 const real *b_ih, const real *b_hh, real *hs) {
    for (int t = 0; t < T; t++) {
        real *h = STEP(hs, t + 1, H);
        matmul(h, w_ih, I, 1, b_ih, STEP(x, t, I), H, I, B, 0);
        matmul(h, w_hh, H, 1, b_hh, STEP(hs, t, H), H, H, B, 1);
        tanh_in_place((int64_t)H * B, h);
    }
}

/* dg: (H, B) scratch for the pre-activation gradient of one step. */
void rnn_backward(int T, int B, int I, int H, const real *dout, const real *x, const real *w_ih,
                  const real *w_hh, const real *hs, real *dx, real *dw_ih, real *dw_hh,
                  real *db_ih, real *db_hh, real *dh, real *dg) {
    for (int t = T - 1; t >= 0; t--) {
        const real *h = STEP(hs, t + 1, H), *d = STEP(dout, t, H);
        rnn_cell_backward((int64_t)H * B, h, d, dh, dg);
        step_gradients(dg, dg, STEP(x, t, I), STEP(hs, t, H), w_ih, STEP(dx, t, I), dw_ih, dw_hh,
                       db_ih, db_hh, I, H, H, B);
        matmul(dh, w_hh, 1, H, 0, dg, H, H, B, 0); /* dh = W_hh^T dg */
    }
}

/* ---------------------------------------------------------------- LSTM
 * gates in PyTorch's order i, f, g, o; c_t = f c_(t-1) + i g; h_t = o tanh(c_t).
 * gates: (T, 4H, B) activations; cs: (T+1, H, B) cell states; tcs: (T, H, B) tanh(c_t). */
void lstm_forward(int T, int B, int I, int H, const real *x, const real *w_ih,
                  const real *w_hh, const real *b_ih, const real *b_hh, real *hs, real *cs,
                  real *gates, real *tcs) {
    int64_t HB = (int64_t)H * B;
    for (int t = 0; t < T; t++) {
        real *a = STEP(gates, t, 4 * H);
        matmul(a, w_ih, I, 1, b_ih, STEP(x, t, I), 4 * H, I, B, 0);
        matmul(a, w_hh, H, 1, b_hh, STEP(hs, t, H), 4 * H, H, B, 1);
        lstm_gates(HB, a);
        lstm_cell(HB, a, a + HB, a + 2 * HB, a + 3 * HB, STEP(cs, t, H), STEP(cs, t + 1, H),
                  STEP(tcs, t, H), STEP(hs, t + 1, H));
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
        step_gradients(dg, dg, STEP(x, t, I), STEP(hs, t, H), w_ih, STEP(dx, t, I), dw_ih,
                       dw_hh, db_ih, db_hh, I, H, 4 * H, B);
        matmul(dh, w_hh, 1, H, 0, dg, H, 4 * H, B, 0); /* dh = W_hh^T dg */
    }
}

/* ---------------------------------------------------------------- GRU (PyTorch's convention)
 * r, z = sigmoid(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r (W_hn h + b_hn));
 * h' = n + z (h - n).  gates: (T, 4H, B) keeps r, z, n and W_hn h + b_hn for the backward;
 * gi, gh: (3H, B) scratch for the two products of one step. */
void gru_forward(int T, int B, int I, int H, const real *x, const real *w_ih, const real *w_hh,
                 const real *b_ih, const real *b_hh, real *hs, real *gates, real *gi, real *gh) {
    int64_t HB = (int64_t)H * B;
    for (int t = 0; t < T; t++) {
        const real *h = STEP(hs, t, H);
        real *a = STEP(gates, t, 4 * H);
        matmul(gi, w_ih, I, 1, b_ih, STEP(x, t, I), 3 * H, I, B, 0);
        matmul(gh, w_hh, H, 1, b_hh, h, 3 * H, H, B, 0);
        sigmoid_of_sum(2 * HB, gi, gh, a); /* r, z */
        gru_cell(HB, a, a + HB, gi + 2 * HB, gh + 2 * HB, h, a + 2 * HB, a + 3 * HB,
                 STEP(hs, t + 1, H));
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
        step_gradients(dgi, dgh, STEP(x, t, I), STEP(hs, t, H), w_ih, STEP(dx, t, I), dw_ih,
                       dw_hh, db_ih, db_hh, I, H, 3 * H, B);
        matmul(dh, w_hh, 1, H, 0, dgh, H, 3 * H, B, 1); /* dh += W_hh^T dgh */
    }
}
