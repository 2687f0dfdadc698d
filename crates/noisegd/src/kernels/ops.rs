//! The dense products as a burn backend extension: a forward kernel on `Flex` and, on
//! `Autodiff<Flex>`, a hand-written backward that uses the same kernel for the gradients.

use super::conv::{self, ConvGeom, ConvSpec};
use super::gemm::{column_sums, matmul_into, matmul_into_single, MatRef};
use super::pool;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Flex};
use burn::tensor::{DType, Shape, TensorData};
use burn_flex::FlexTensor;

/// Dense products computed by [`super::gemm`].
#[backend_extension(Autodiff, Flex)]
pub trait DenseOps: burn::backend::Backend {
    /// `x · w + bias` for `x: [m, k]`, `w: [k, n]`, `bias: [n]`.
    fn dense_linear(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// `a · b` for `a: [m, k]`, `b: [k, n]`.
    fn dense_matmul(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// A 2-D `f32` tensor's buffer as a matrix view, copying only layouts `gemm` cannot stride over.
fn view(t: &FlexTensor) -> (MatRef, Option<FlexTensor>) {
    assert_eq!(
        t.dtype(),
        DType::F32,
        "noisegd's dense kernels take f32 tensors"
    );
    let layout = t.layout();
    let (rows, cols, rs, cs) = layout.as_2d_strides().expect("a 2-D tensor");
    if layout.has_positive_strides() {
        let data: &[f32] = t.storage();
        // SAFETY: the layout's offset and strides address elements of `data`.
        let ptr = unsafe { data.as_ptr().add(layout.start_offset()) };
        return (
            MatRef {
                ptr,
                rows,
                cols,
                row_stride: rs,
                col_stride: cs,
            },
            None,
        );
    }
    let owned = t.to_contiguous();
    let data: &[f32] = owned.storage();
    let view = MatRef::row_major(
        &data[owned.layout().start_offset()..][..rows * cols],
        rows,
        cols,
    );
    (view, Some(owned))
}

/// `a · b (+ bias)` on Flex tensors.
fn product(a: &FlexTensor, b: &FlexTensor, bias: Option<&FlexTensor>) -> FlexTensor {
    let (a_view, _a_keep) = view(a);
    let (b_view, _b_keep) = view(b);
    let (m, n) = (a_view.rows, b_view.cols);
    let mut out = match bias {
        Some(bias) => {
            let bias = bias.to_contiguous();
            let bias: &[f32] = &bias.storage()[bias.layout().start_offset()..][..n];
            let mut out = Vec::with_capacity(m * n);
            for _ in 0..m {
                out.extend_from_slice(bias);
            }
            out
        }
        None => vec![0.0f32; m * n],
    };
    matmul_into(&mut out, a_view, b_view, bias.is_some());
    FlexTensor::from_data(TensorData::new(out, Shape::new([m, n])))
}

/// `a · b` with the views given (for the backward products, which use transposes).
fn product_views(a: MatRef, b: MatRef) -> FlexTensor {
    let mut out = vec![0.0f32; a.rows * b.cols];
    matmul_into(&mut out, a, b, false);
    FlexTensor::from_data(TensorData::new(out, Shape::new([a.rows, b.cols])))
}

/// [`product_views`] on the calling thread.
fn product_views_single(a: MatRef, b: MatRef) -> FlexTensor {
    let mut out = vec![0.0f32; a.rows * b.cols];
    matmul_into_single(&mut out, a, b, false);
    FlexTensor::from_data(TensorData::new(out, Shape::new([a.rows, b.cols])))
}

impl DenseOps for Flex {
    fn dense_linear(x: FlexTensor, w: FlexTensor, bias: FlexTensor) -> FlexTensor {
        product(&x, &w, Some(&bias))
    }

    fn dense_matmul(a: FlexTensor, b: FlexTensor) -> FlexTensor {
        product(&a, &b, None)
    }
}

/// Gradients of `c = a · b (+ bias)` from `dc`: `da = dc · bᵀ`, `db = aᵀ · dc`, `dbias = Σ_rows dc`.
fn product_grads(
    dc: &FlexTensor,
    a: &FlexTensor,
    b: &FlexTensor,
    need: [bool; 3],
) -> [Option<FlexTensor>; 3] {
    let (dc_view, _dc_keep) = view(dc);
    let (a_view, _a_keep) = view(a);
    let (b_view, _b_keep) = view(b);
    let (da, db) = if need[0] && need[1] && rayon::current_num_threads() >= 2 {
        // The two products of a hidden layer cost the same: one whole product per core beats
        // splitting each across both (MLP 1 b128, 2 threads, alternating runs: 4.06–4.41 →
        // 3.97–4.32 ms per step, faster in 5 of 6 pairs).
        let (da, db) = rayon::join(
            || product_views_single(dc_view, b_view.t()),
            || product_views_single(a_view.t(), dc_view),
        );
        (Some(da), Some(db))
    } else {
        (
            need[0].then(|| product_views(dc_view, b_view.t())),
            need[1].then(|| product_views(a_view.t(), dc_view)),
        )
    };
    let dbias = need[2].then(|| {
        let dc = dc.to_contiguous();
        let (rows, cols) = (dc_view.rows, dc_view.cols);
        let data = &dc.storage::<f32>()[dc.layout().start_offset()..][..rows * cols];
        FlexTensor::from_data(TensorData::new(
            column_sums(data, rows, cols),
            Shape::new([cols]),
        ))
    });
    [da, db, dbias]
}

#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 3> for LinearBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, w_node, bias_node] = ops.parents;
        let dc = grads.consume::<Flex>(&ops.node);
        let (x, w) = ops.state;
        let need = [x_node.is_some(), w_node.is_some(), bias_node.is_some()];
        let [dx, dw, dbias] = product_grads(&dc, &x, &w, need);
        for (node, grad) in [(x_node, dx), (w_node, dw), (bias_node, dbias)] {
            if let (Some(node), Some(grad)) = (node, grad) {
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

#[derive(Debug)]
struct MatmulBackward;

impl Backward<Flex, 2> for MatmulBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [a_node, b_node] = ops.parents;
        let dc = grads.consume::<Flex>(&ops.node);
        let (a, b) = ops.state;
        let [da, db, _] = product_grads(&dc, &a, &b, [a_node.is_some(), b_node.is_some(), false]);
        for (node, grad) in [(a_node, da), (b_node, db)] {
            if let (Some(node), Some(grad)) = (node, grad) {
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

impl<C: CheckpointStrategy> DenseOps for Autodiff<Flex, C> {
    fn dense_linear(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, x_node) = x.into_parts();
        let (w, w_node) = w.into_parts();
        let (bias, bias_node) = bias.into_parts();
        let output = product(&x, &w, Some(&bias));
        match LinearBackward
            .prepare::<C>([x_node, w_node, bias_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x, w), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn dense_matmul(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        let (a, a_node) = a.into_parts();
        let (b, b_node) = b.into_parts();
        let output = product(&a, &b, None);
        match MatmulBackward
            .prepare::<C>([a_node, b_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((a, b), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}

/// 2-D convolution computed by [`super::conv`].
#[backend_extension(Autodiff, Flex)]
pub trait ConvOps: burn::backend::Backend {
    /// `conv2d(x, weight) + bias` for `x: [batch, c_in, h, w]`, `weight: [c_out, c_in, kh, kw]`,
    /// `bias: [c_out]`, one group.
    fn conv2d_nchw(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        spec: ConvSpec,
    ) -> FloatTensor<Self>;
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

/// A tensor's elements in row-major order, borrowed when it already is dense.
fn dense_f32(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    assert_eq!(
        t.dtype(),
        DType::F32,
        "noisegd's convolution takes f32 tensors"
    );
    let n = t.layout().num_elements();
    match t.layout().contiguous_offsets() {
        Some((start, end)) if end - start == n => {
            std::borrow::Cow::Borrowed(&t.storage::<f32>()[start..end])
        }
        _ => {
            let owned = t.to_contiguous();
            let (start, end) = owned.layout().contiguous_offsets().expect("contiguous");
            std::borrow::Cow::Owned(owned.storage::<f32>()[start..end].to_vec())
        }
    }
}

fn conv_geom(x: &FlexTensor, weight: &FlexTensor, spec: ConvSpec) -> ConvGeom {
    ConvGeom::new(dims4(x), dims4(weight), spec)
        .expect("convolution sizes checked by kernels::conv2d")
}

fn conv_forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    spec: ConvSpec,
) -> FlexTensor {
    let g = conv_geom(x, weight, spec);
    let out = conv::forward(&g, &dense_f32(x), &dense_f32(weight), &dense_f32(bias));
    FlexTensor::from_data(TensorData::new(
        out,
        Shape::new([g.batch, g.c_out, g.h_out, g.w_out]),
    ))
}

impl ConvOps for Flex {
    fn conv2d_nchw(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        spec: ConvSpec,
    ) -> FlexTensor {
        conv_forward(&x, &weight, &bias, spec)
    }
}

#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    type State = (FlexTensor, FlexTensor, ConvSpec);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, w_node, bias_node] = ops.parents;
        let d_out = grads.consume::<Flex>(&ops.node);
        let (x, weight, spec) = ops.state;
        let g = conv_geom(&x, &weight, spec);
        let need = [x_node.is_some(), w_node.is_some(), bias_node.is_some()];
        let (dx, dw, db) = conv::backward(
            &g,
            &dense_f32(&x),
            &dense_f32(&weight),
            &dense_f32(&d_out),
            need,
        );
        let as_tensor =
            |v: Vec<f32>, shape: Shape| FlexTensor::from_data(TensorData::new(v, shape));
        let shapes = [
            Shape::new([g.batch, g.c_in, g.h, g.w]),
            Shape::new([g.c_out, g.c_in, g.kh, g.kw]),
            Shape::new([g.c_out]),
        ];
        for ((node, grad), shape) in [(x_node, dx), (w_node, dw), (bias_node, db)]
            .into_iter()
            .zip(shapes)
        {
            if let (Some(node), Some(grad)) = (node, grad) {
                grads.register::<Flex>(node.id, as_tensor(grad, shape));
            }
        }
    }
}

impl<C: CheckpointStrategy> ConvOps for Autodiff<Flex, C> {
    fn conv2d_nchw(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        spec: ConvSpec,
    ) -> FloatTensor<Self> {
        let (x, x_node) = x.into_parts();
        let (weight, w_node) = weight.into_parts();
        let (bias, bias_node) = bias.into_parts();
        let output = conv_forward(&x, &weight, &bias, spec);
        match ConvBackward
            .prepare::<C>([x_node, w_node, bias_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x, weight, spec), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}

/// 2 × 2 max pooling (stride 2) computed by [`super::pool`].
#[backend_extension(Autodiff, Flex)]
pub trait PoolOps: burn::backend::Backend {
    /// `max_pool2d(x, 2)` for `x: [batch, channels, h, w]`.
    fn max_pool2_nchw(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Pooled values as a tensor, and the winners.
fn pool_forward(x: &FlexTensor) -> (FlexTensor, Vec<u8>) {
    let [b, c, h, w] = dims4(x);
    let (values, arg) = pool::forward(&dense_f32(x), b * c, h, w);
    let (ho, wo) = pool::output_dims(h, w);
    (
        FlexTensor::from_data(TensorData::new(values, Shape::new([b, c, ho, wo]))),
        arg,
    )
}

impl PoolOps for Flex {
    fn max_pool2_nchw(x: FlexTensor) -> FlexTensor {
        pool_forward(&x).0
    }
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    /// The input's dims and each output's winner.
    type State = ([usize; 4], std::sync::Arc<Vec<u8>>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node] = ops.parents;
        let d_out = grads.consume::<Flex>(&ops.node);
        let ([b, c, h, w], arg) = ops.state;
        if let Some(node) = x_node {
            let dx = pool::backward(&dense_f32(&d_out), &arg, b * c, h, w);
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(dx, Shape::new([b, c, h, w]))),
            );
        }
    }
}

impl<C: CheckpointStrategy> PoolOps for Autodiff<Flex, C> {
    fn max_pool2_nchw(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, x_node) = x.into_parts();
        let (output, arg) = pool_forward(&x);
        match MaxPoolBackward
            .prepare::<C>([x_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((dims4(&x), std::sync::Arc::new(arg)), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}
