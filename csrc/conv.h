/* conv.h — 2-D convolution through im2col and GEMM (seed section 3). */
#ifndef DLK_CONV_H
#define DLK_CONV_H
#include "dlk.h"

/* x (B, C, H, W), w (O, C, kh, kw), y (B, O, Ho, Wo); all contiguous. */
typedef struct {
    int64_t B, C, H, W, O, kh, kw, sh, sw, ph, pw, Ho, Wo;
} dlk_conv_shape;

/* cols (C·kh·kw, B·Ho·Wo): rows (c, i, j), columns (b, oh, ow); zero padding. */
int dlk_im2col_f32(const dlk_conv_shape *s, const float *x, float *cols, int nthreads);
int dlk_im2col_f64(const dlk_conv_shape *s, const double *x, double *cols, int nthreads);
/* The adjoint: x (B, C, H, W) = Σ of the column entries copied from each pixel. */
int dlk_col2im_f32(const dlk_conv_shape *s, const float *cols, float *x, int nthreads);
int dlk_col2im_f64(const dlk_conv_shape *s, const double *cols, double *x, int nthreads);

/* y = conv(x, w) + b (b may be NULL).  Scratch: at most `workspace` bytes in all. */
int dlk_conv2d_f32(const dlk_conv_shape *s, const float *x, const float *w, const float *b,
                   float *y, int64_t workspace, const dlk_stop_flag *stop, int nthreads);
int dlk_conv2d_f64(const dlk_conv_shape *s, const double *x, const double *w, const double *b,
                   double *y, int64_t workspace, const dlk_stop_flag *stop, int nthreads);
/* dx, dw, db from dy; same workspace bound plus the dw partial sums (at most 8 × |w|). */
int dlk_conv2d_backward_f32(const dlk_conv_shape *s, const float *dy, const float *x,
                            const float *w, float *dx, float *dw, float *db,
                            int64_t workspace, const dlk_stop_flag *stop, int nthreads);
int dlk_conv2d_backward_f64(const dlk_conv_shape *s, const double *dy, const double *x,
                            const double *w, double *dx, double *dw, double *db,
                            int64_t workspace, const dlk_stop_flag *stop, int nthreads);
#endif
