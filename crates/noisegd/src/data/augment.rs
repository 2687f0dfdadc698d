//! Seeded CIFAR augmentation: random crop with zero padding, then horizontal flip with p = 1/2
//! (torchvision's `RandomCrop(32, padding=4)` + `RandomHorizontalFlip()`, as in the paper's
//! CIFAR-10 code).
//!
//! For example `index` in epoch `epoch`, the crop offsets `dy, dx ∈ {0, …, 2·padding}` and the
//! flip are Philox draws keyed by `(seed, epoch, index)`: the result does not depend on the batch
//! an example lands in, the order of the batches, or the number of threads, and any epoch can be
//! regenerated. Output pixel `(c, y, x)` is pixel `(c, y + dy − p, x' + dx − p)` of the input,
//! with `x' = w − 1 − x` when flipped, else `x' = x`, and `fill[c]` outside the image.
//!
//! torchvision pads before `Normalize`, with black; on data that is already normalized pass
//! [`super::normalize::ChannelStats::normalized_zero`] as `fill` to get the same pixels.

use rayon::prelude::*;

use super::draws::{below, AUGMENT_GROUP};

/// The draws for one example: crop offsets in the padded image and whether to flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropFlip {
    /// Row offset, `0 ..= 2·padding` (`padding` = no shift).
    pub dy: usize,
    /// Column offset, `0 ..= 2·padding`.
    pub dx: usize,
    /// Mirror left–right.
    pub flip: bool,
}

impl CropFlip {
    /// The draws for example `index` of epoch `epoch` (three independent Philox draws).
    pub fn draw(seed: u64, epoch: u64, index: u64, padding: usize) -> Self {
        let offsets = 2 * padding + 1;
        CropFlip {
            dy: below(seed, epoch, AUGMENT_GROUP, 3 * index, offsets),
            dx: below(seed, epoch, AUGMENT_GROUP, 3 * index + 1, offsets),
            flip: below(seed, epoch, AUGMENT_GROUP, 3 * index + 2, 2) == 1,
        }
    }

    /// Writes the cropped (and maybe flipped) `src` (`shape = [c, h, w]`) into `out`.
    pub fn apply(
        &self,
        src: &[f32],
        shape: [usize; 3],
        padding: usize,
        fill: &[f32],
        out: &mut [f32],
    ) {
        let [c, h, w] = shape;
        debug_assert_eq!(src.len(), c * h * w);
        debug_assert_eq!(out.len(), c * h * w);
        for ch in 0..c {
            for y in 0..h {
                let sy = (y + self.dy).checked_sub(padding).filter(|&sy| sy < h);
                let row = &mut out[(ch * h + y) * w..(ch * h + y + 1) * w];
                for (x, o) in row.iter_mut().enumerate() {
                    let xx = if self.flip { w - 1 - x } else { x };
                    let sx = (xx + self.dx).checked_sub(padding).filter(|&sx| sx < w);
                    *o = match (sy, sx) {
                        (Some(sy), Some(sx)) => src[(ch * h + sy) * w + sx],
                        _ => fill[ch],
                    };
                }
            }
        }
    }
}

/// Random crop (with `padding`) and flip of the examples `indices` of `x` (examples of
/// `shape = [c, h, w]`), for epoch `epoch`; returns the augmented batch, example after example.
/// `fill` holds one padding value per channel.
pub fn augment_batch(
    x: &[f32],
    shape: [usize; 3],
    indices: &[usize],
    seed: u64,
    epoch: u64,
    padding: usize,
    fill: &[f32],
) -> Vec<f32> {
    let features: usize = shape.iter().product();
    assert_eq!(fill.len(), shape[0], "one fill value per channel");
    let mut out = vec![0f32; indices.len() * features];
    out.par_chunks_mut(features)
        .zip(indices.par_iter())
        .for_each(|(o, &i)| {
            CropFlip::draw(seed, epoch, i as u64, padding).apply(
                &x[i * features..(i + 1) * features],
                shape,
                padding,
                fill,
                o,
            )
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: [usize; 3] = [2, 3, 4];

    fn image() -> Vec<f32> {
        (0..24).map(|v| v as f32 + 1.0).collect()
    }

    #[test]
    fn centre_crop_is_identity_and_shifts_bring_in_the_fill() {
        let src = image();
        let mut out = vec![0f32; 24];
        CropFlip {
            dy: 2,
            dx: 2,
            flip: false,
        }
        .apply(&src, SHAPE, 2, &[-1.0, -2.0], &mut out);
        assert_eq!(out, src);
        // dy = dx = 0: shifted down-right by 2, the first two rows and columns are fill
        CropFlip {
            dy: 0,
            dx: 0,
            flip: false,
        }
        .apply(&src, SHAPE, 2, &[-1.0, -2.0], &mut out);
        assert_eq!(&out[..4], &[-1.0; 4]);
        assert_eq!(&out[8..12], &[-1.0, -1.0, 1.0, 2.0]);
        assert_eq!(&out[12..16], &[-2.0; 4]);
        assert_eq!(&out[20..24], &[-2.0, -2.0, 13.0, 14.0]);
        // flip only: each row reversed
        CropFlip {
            dy: 2,
            dx: 2,
            flip: true,
        }
        .apply(&src, SHAPE, 2, &[0.0, 0.0], &mut out);
        assert_eq!(&out[..4], &[4.0, 3.0, 2.0, 1.0]);
        assert_eq!(&out[20..24], &[24.0, 23.0, 22.0, 21.0]);
        // flip then crop: torchvision crops first, then flips the crop
        CropFlip {
            dy: 2,
            dx: 3,
            flip: true,
        }
        .apply(&src, SHAPE, 2, &[0.0, 0.0], &mut out);
        assert_eq!(&out[..4], &[0.0, 4.0, 3.0, 2.0]);
    }

    #[test]
    fn draws_are_keyed_by_seed_epoch_and_index_only() {
        let x: Vec<f32> = (0..5 * 24).map(|v| v as f32).collect();
        let fill = [0.0, 0.0];
        let all = augment_batch(&x, SHAPE, &[0, 1, 2, 3, 4], 11, 3, 4, &fill);
        let some = augment_batch(&x, SHAPE, &[4, 2], 11, 3, 4, &fill);
        assert_eq!(&some[..24], &all[4 * 24..]);
        assert_eq!(&some[24..], &all[2 * 24..3 * 24]);
        assert_ne!(
            all,
            augment_batch(&x, SHAPE, &[0, 1, 2, 3, 4], 11, 4, 4, &fill)
        );
        assert_ne!(
            all,
            augment_batch(&x, SHAPE, &[0, 1, 2, 3, 4], 12, 3, 4, &fill)
        );
        // offsets uniform on 0..=8 and flips on {no, yes}: 9000 examples
        let mut dy = [0usize; 9];
        let mut dx = [0usize; 9];
        let mut flips = 0;
        for i in 0..9000 {
            let d = CropFlip::draw(1, 0, i, 4);
            dy[d.dy] += 1;
            dx[d.dx] += 1;
            flips += d.flip as usize;
        }
        // binomial sd: 30 (offsets, p = 1/9), 47 (flips, p = 1/2)
        assert!(
            dy.iter()
                .chain(&dx)
                .all(|&c| (c as i64 - 1000).abs() < 6 * 30),
            "{dy:?} {dx:?}"
        );
        assert!((flips as i64 - 4500).abs() < 6 * 47, "{flips}");
    }
}
