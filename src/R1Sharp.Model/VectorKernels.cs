using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace R1Sharp.Model;

/// <summary>A SIMD register of floats: the kernels below are written once over it and specialised per width by the JIT.</summary>
internal unsafe interface ISimd<T> where T : struct, ISimd<T>
{
    static abstract int Width { get; }
    static abstract T Load(float* p);
    static abstract void Store(T v, float* p);
    static abstract T Broadcast(float a);
    static abstract T Fma(T a, T b, T c); // a·b + c
    static abstract T Exp(T v);
    static abstract float Sum(T v);
    static abstract T operator +(T a, T b);
    static abstract T operator -(T a, T b);
    static abstract T operator *(T a, T b);
    static abstract T operator /(T a, T b);
}

/// <summary>16 floats (AVX-512).</summary>
internal unsafe struct Simd512 : ISimd<Simd512>
{
    Vector512<float> v;
    public static int Width => 16;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 Load(float* p) => new() { v = Vector512.Load(p) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Simd512 x, float* p) => x.v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 Broadcast(float a) => new() { v = Vector512.Create(a) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 Fma(Simd512 a, Simd512 b, Simd512 c) => new() { v = Vector512.FusedMultiplyAdd(a.v, b.v, c.v) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Simd512 x) => Vector512.Sum(x.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 Exp(Simd512 x) => new() { v = Vector512.Exp(x.v) };
    public static Simd512 operator +(Simd512 a, Simd512 b) => new() { v = a.v + b.v };
    public static Simd512 operator -(Simd512 a, Simd512 b) => new() { v = a.v - b.v };
    public static Simd512 operator *(Simd512 a, Simd512 b) => new() { v = a.v * b.v };
    public static Simd512 operator /(Simd512 a, Simd512 b) => new() { v = a.v / b.v };
}

/// <summary>8 floats (AVX2, or two NEON registers).</summary>
internal unsafe struct Simd256 : ISimd<Simd256>
{
    Vector256<float> v;
    public static int Width => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 Load(float* p) => new() { v = Vector256.Load(p) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Simd256 x, float* p) => x.v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 Broadcast(float a) => new() { v = Vector256.Create(a) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 Fma(Simd256 a, Simd256 b, Simd256 c) => new() { v = Vector256.FusedMultiplyAdd(a.v, b.v, c.v) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Simd256 x) => Vector256.Sum(x.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 Exp(Simd256 x) => new() { v = Vector256.Exp(x.v) };
    public static Simd256 operator +(Simd256 a, Simd256 b) => new() { v = a.v + b.v };
    public static Simd256 operator -(Simd256 a, Simd256 b) => new() { v = a.v - b.v };
    public static Simd256 operator *(Simd256 a, Simd256 b) => new() { v = a.v * b.v };
    public static Simd256 operator /(Simd256 a, Simd256 b) => new() { v = a.v / b.v };
}

/// <summary>4 floats (SSE, NEON).</summary>
internal unsafe struct Simd128 : ISimd<Simd128>
{
    Vector128<float> v;
    public static int Width => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 Load(float* p) => new() { v = Vector128.Load(p) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Simd128 x, float* p) => x.v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 Broadcast(float a) => new() { v = Vector128.Create(a) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 Fma(Simd128 a, Simd128 b, Simd128 c) => new() { v = Vector128.FusedMultiplyAdd(a.v, b.v, c.v) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Simd128 x) => Vector128.Sum(x.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 Exp(Simd128 x) => new() { v = Vector128.Exp(x.v) };
    public static Simd128 operator +(Simd128 a, Simd128 b) => new() { v = a.v + b.v };
    public static Simd128 operator -(Simd128 a, Simd128 b) => new() { v = a.v - b.v };
    public static Simd128 operator *(Simd128 a, Simd128 b) => new() { v = a.v * b.v };
    public static Simd128 operator /(Simd128 a, Simd128 b) => new() { v = a.v / b.v };
}

/// <summary>
/// The products behind <see cref="VectorDecoder"/>: y = W x for a few input rows x against a row-major weight W (out × n).
/// The core is a 4 × 4 register tile — four weight rows against four input rows, sixteen accumulators — so each load feeds
/// four multiply-adds: with AVX-512, 133 GFLOP/s on one core here and 260–277 on two, where libtorch's sgemm reaches
/// 170–220 on two (bench/README.md).
/// </summary>
internal static unsafe class VectorKernels<T> where T : struct, ISimd<T>
{
    /// <summary>
    /// y[r, o] = Σ_i w[o, i] x[r, i] + bias[o] (added to y[r, o] when <paramref name="accumulate"/>) for o in [from, to),
    /// r &lt; rows; x rows have width n, y rows <paramref name="yStride"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the kernels run optimised from their first call, not after tiering
    public static void MatMul(float* w, float* bias, int n, float* x, int rows, float* y, int yStride, int from, int to, bool accumulate)
    {
        float* tile = stackalloc float[16];
        int o = from;
        for (; o + 4 <= to; o += 4)
        {
            float* w4 = w + (long)o * n;
            int r = 0;
            for (; r + 4 <= rows; r += 4)
            {
                Tile4x4(w4, x + (long)r * n, n, tile);
                for (int j = 0; j < 4; j++)
                    for (int i = 0; i < 4; i++) Put(y + (long)(r + j) * yStride + o + i, tile[j * 4 + i] + Bias(bias, o + i), accumulate);
            }
            for (; r < rows; r++)
            {
                Tile4x1(w4, x + (long)r * n, n, tile);
                for (int i = 0; i < 4; i++) Put(y + (long)r * yStride + o + i, tile[i] + Bias(bias, o + i), accumulate);
            }
        }
        for (; o < to; o++)
            for (int r = 0; r < rows; r++)
                Put(y + (long)r * yStride + o, Dot(w + (long)o * n, x + (long)r * n, n) + Bias(bias, o), accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Bias(float* bias, int o) => bias == null ? 0f : bias[o];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put(float* y, float value, bool accumulate) => *y = accumulate ? *y + value : value;

    /// <summary>tile[j·4 + i] = w_i · x_j for weight rows w_0..w_3 and input rows x_0..x_3 (each of width n, consecutive).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4(float* w, float* x, int n, float* tile)
    {
        T a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default,
          c0 = default, c1 = default, c2 = default, c3 = default, d0 = default, d1 = default, d2 = default, d3 = default;
        float* w1 = w + n, w2 = w1 + n, w3 = w2 + n, x1 = x + n, x2 = x1 + n, x3 = x2 + n;
        int k = 0;
        for (; k + T.Width <= n; k += T.Width)
        {
            T v0 = T.Load(x + k), v1 = T.Load(x1 + k), v2 = T.Load(x2 + k), v3 = T.Load(x3 + k);
            T u = T.Load(w + k);
            a0 = T.Fma(u, v0, a0); a1 = T.Fma(u, v1, a1); a2 = T.Fma(u, v2, a2); a3 = T.Fma(u, v3, a3);
            u = T.Load(w1 + k);
            b0 = T.Fma(u, v0, b0); b1 = T.Fma(u, v1, b1); b2 = T.Fma(u, v2, b2); b3 = T.Fma(u, v3, b3);
            u = T.Load(w2 + k);
            c0 = T.Fma(u, v0, c0); c1 = T.Fma(u, v1, c1); c2 = T.Fma(u, v2, c2); c3 = T.Fma(u, v3, c3);
            u = T.Load(w3 + k);
            d0 = T.Fma(u, v0, d0); d1 = T.Fma(u, v1, d1); d2 = T.Fma(u, v2, d2); d3 = T.Fma(u, v3, d3);
        }
        (tile[0], tile[1], tile[2], tile[3]) = (T.Sum(a0), T.Sum(b0), T.Sum(c0), T.Sum(d0));
        (tile[4], tile[5], tile[6], tile[7]) = (T.Sum(a1), T.Sum(b1), T.Sum(c1), T.Sum(d1));
        (tile[8], tile[9], tile[10], tile[11]) = (T.Sum(a2), T.Sum(b2), T.Sum(c2), T.Sum(d2));
        (tile[12], tile[13], tile[14], tile[15]) = (T.Sum(a3), T.Sum(b3), T.Sum(c3), T.Sum(d3));
        for (; k < n; k++)
            for (int j = 0; j < 4; j++)
                for (int i = 0; i < 4; i++) tile[j * 4 + i] += w[(long)i * n + k] * x[(long)j * n + k];
    }

    /// <summary>tile[i] = w_i · x for four consecutive weight rows (one input row: the weights stream from memory once).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x1(float* w, float* x, int n, float* tile)
    {
        T a = default, b = default, c = default, d = default;
        float* w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        int k = 0;
        for (; k + T.Width <= n; k += T.Width)
        {
            T v = T.Load(x + k);
            a = T.Fma(T.Load(w + k), v, a);
            b = T.Fma(T.Load(w1 + k), v, b);
            c = T.Fma(T.Load(w2 + k), v, c);
            d = T.Fma(T.Load(w3 + k), v, d);
        }
        (tile[0], tile[1], tile[2], tile[3]) = (T.Sum(a), T.Sum(b), T.Sum(c), T.Sum(d));
        for (; k < n; k++)
        {
            tile[0] += w[k] * x[k];
            tile[1] += w1[k] * x[k];
            tile[2] += w2[k] * x[k];
            tile[3] += w3[k] * x[k];
        }
    }

    /// <summary>Σ a_i b_i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        T s0 = default, s1 = default;
        int k = 0;
        for (; k + 2 * T.Width <= n; k += 2 * T.Width)
        {
            s0 = T.Fma(T.Load(a + k), T.Load(b + k), s0);
            s1 = T.Fma(T.Load(a + k + T.Width), T.Load(b + k + T.Width), s1);
        }
        if (k + T.Width <= n) { s0 = T.Fma(T.Load(a + k), T.Load(b + k), s0); k += T.Width; }
        float sum = T.Sum(s0) + T.Sum(s1);
        for (; k < n; k++) sum += a[k] * b[k];
        return sum;
    }

    /// <summary>g ← silu(g) ⊙ u = g / (1 + exp(−g)) ⊙ u, over n floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SiluMul(float* g, float* u, int n)
    {
        var one = T.Broadcast(1f);
        int k = 0;
        for (; k + T.Width <= n; k += T.Width)
        {
            var x = T.Load(g + k);
            T.Store(x / (one + T.Exp(T.Broadcast(0f) - x)) * T.Load(u + k), g + k);
        }
        for (; k < n; k++) g[k] = g[k] / (1f + MathF.Exp(-g[k])) * u[k];
    }

    /// <summary>s ← exp(s − max) over n floats (−∞ gives 0); returns their sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ExpShifted(float* s, int n, float max)
    {
        var m = T.Broadcast(max);
        T sum = default;
        int k = 0;
        for (; k + T.Width <= n; k += T.Width)
        {
            var e = T.Exp(T.Load(s + k) - m);
            T.Store(e, s + k);
            sum += e;
        }
        float total = T.Sum(sum);
        for (; k < n; k++) total += s[k] = MathF.Exp(s[k] - max);
        return total;
    }

    /// <summary>result[j] = row_j · x for <paramref name="count"/> consecutive rows of width n, four rows at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RowDots(float* rows, float* x, int count, int n, float* result)
    {
        int j = 0;
        for (; j + 4 <= count; j += 4) Tile4x1(rows + (long)j * n, x, n, result + j);
        for (; j < count; j++) result[j] = Dot(rows + (long)j * n, x, n);
    }

    /// <summary>output = Σ_j p[j] row_j over <paramref name="count"/> consecutive rows of width n (accumulated in registers, 4 vectors of n at a time).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightedSum(float* p, float* rows, int count, int n, float* output)
    {
        int k = 0;
        for (; k + 4 * T.Width <= n; k += 4 * T.Width)
        {
            T a = default, b = default, c = default, d = default;
            float* row = rows + k;
            for (int j = 0; j < count; j++, row += n)
            {
                var pj = T.Broadcast(p[j]);
                a = T.Fma(pj, T.Load(row), a);
                b = T.Fma(pj, T.Load(row + T.Width), b);
                c = T.Fma(pj, T.Load(row + 2 * T.Width), c);
                d = T.Fma(pj, T.Load(row + 3 * T.Width), d);
            }
            T.Store(a, output + k);
            T.Store(b, output + k + T.Width);
            T.Store(c, output + k + 2 * T.Width);
            T.Store(d, output + k + 3 * T.Width);
        }
        for (; k + T.Width <= n; k += T.Width)
        {
            T a = default, b = default;
            float* row = rows + k;
            int j = 0;
            for (; j + 2 <= count; j += 2, row += 2 * n)
            {
                a = T.Fma(T.Broadcast(p[j]), T.Load(row), a);
                b = T.Fma(T.Broadcast(p[j + 1]), T.Load(row + n), b);
            }
            if (j < count) a = T.Fma(T.Broadcast(p[j]), T.Load(row), a);
            T.Store(a + b, output + k);
        }
        for (; k < n; k++)
        {
            float sum = 0;
            for (int j = 0; j < count; j++) sum += p[j] * rows[(long)j * n + k];
            output[k] = sum;
        }
    }
}
