//! Element loops at the CPU's vector width.
//!
//! The default x86-64 target has only SSE2 (4 lanes of f32). [`with_simd`] runs a closure
//! compiled for AVX-512 (16 lanes) or AVX2 with FMA (8 lanes) where the CPU has them, chosen
//! at run time, so that the loops inlined into it vectorise at that width. The arithmetic
//! is the same at every width (no fused multiply-adds unless written out), so results are
//! identical to the bit.
//!
//! A closure given to [`with_simd`] is compiled inside the wide function only while LLVM
//! finds it cheap enough to inline; a larger loop is a [`Kernel`] whose `run` is
//! `#[inline(always)]`.

/// A loop to run at the CPU's vector width by [`with_simd`]. Every closure is one; a type
/// implementing it marks `run` `#[inline(always)]` so that its loop always compiles inside
/// the wide function.
pub trait Kernel {
    /// What the loop returns.
    type Output;
    /// Runs the loop.
    fn run(self) -> Self::Output;
}

impl<R, F: FnOnce() -> R> Kernel for F {
    type Output = R;
    #[inline(always)]
    fn run(self) -> R {
        self()
    }
}

/// Runs `f` compiled for the widest vectors the CPU has: AVX-512, else AVX2 and FMA, else
/// the default target.
#[inline(always)]
pub fn with_simd<K: Kernel>(f: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        /// Runs `f` with AVX2 and FMA enabled.
        ///
        /// # Safety
        ///
        /// The CPU must support AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        unsafe fn wide<K: Kernel>(f: K) -> K::Output {
            f.run()
        }
        /// Runs `f` with AVX-512 enabled.
        ///
        /// # Safety
        ///
        /// The CPU must support AVX-512 F, BW, DQ, VL, AVX2 and FMA.
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
        unsafe fn widest<K: Kernel>(f: K) -> K::Output {
            f.run()
        }
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("fma")
        {
            // SAFETY: the features were detected on this CPU.
            return unsafe { widest(f) };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the features were detected on this CPU.
            return unsafe { wide(f) };
        }
    }
    f.run()
}
