using R1Sharp.Model;
using static TorchSharp.torch;

namespace R1Sharp.Model.Tests;

/// <summary>Causal attention in query blocks is libtorch's single causal call, outputs and gradients, up to float rounding.</summary>
public class CausalInBlocksTests
{
    [Theory]
    [InlineData(512)] // four full blocks
    [InlineData(600)] // a last block of 88 queries
    [InlineData(100)] // one block, shorter than a block
    public void Outputs_and_gradients_are_the_single_causal_calls(int t)
    {
        var generator = new Generator(5);
        var (q, k, v) = (randn(2, 3, t, 16, generator: generator), randn(2, 3, t, 16, generator: generator), randn(2, 3, t, 16, generator: generator));
        var upstream = randn(2, 3, t, 16, generator: generator);
        (Tensor Out, Tensor[] Grads) Run(Func<Tensor, Tensor, Tensor, Tensor> attention)
        {
            var (qq, kk, vv) = (q.clone().requires_grad_(), k.clone().requires_grad_(), v.clone().requires_grad_());
            var y = attention(qq, kk, vv);
            (y * upstream).sum().backward();
            return (y.detach(), [qq.grad!, kk.grad!, vv.grad!]);
        }
        var blocked = Run(Attention.CausalInBlocks);
        var single = Run((a, b, c) => nn.functional.scaled_dot_product_attention(a, b, c, null, 0.0, true));
        Assert.True(blocked.Out.allclose(single.Out, rtol: 0, atol: 1e-5), $"outputs differ by {(blocked.Out - single.Out).abs().max().item<float>()}");
        for (int i = 0; i < 3; i++)
            Assert.True(blocked.Grads[i].allclose(single.Grads[i], rtol: 0, atol: 1e-5), $"gradient {i} differs by {(blocked.Grads[i] - single.Grads[i]).abs().max().item<float>()}");
        // a query never sees a later key: changing the last key moves no output but the last position's
        var later = v.clone();
        later[.., .., t - 1] = 100;
        var moved = Attention.CausalInBlocks(q, k, later);
        Assert.True(moved.narrow(2, 0, t - 1).allclose(blocked.Out.narrow(2, 0, t - 1), rtol: 0, atol: 1e-6));
        Assert.False(moved.narrow(2, t - 1, 1).allclose(blocked.Out.narrow(2, t - 1, 1), rtol: 0, atol: 1e-3));
    }

    /// <summary>The single masked call with each group's query heads folded into the query axis, as Attention made it before the blocks.</summary>
    static Tensor OneMaskedCall(Tensor q, Tensor k, Tensor v, Tensor mask)
    {
        long b = q.shape[0], heads = q.shape[1], t = q.shape[2], d = q.shape[3], kvHeads = k.shape[1], s = k.shape[2], groups = heads / kvHeads;
        var mf = mask.unsqueeze(2).expand(b, 1, groups, t, s).reshape(b, 1, groups * t, s);
        return nn.functional.scaled_dot_product_attention(q.reshape(b, kvHeads, groups * t, d), k, v, mf, 0.0, false).view(b, heads, t, d);
    }

    /// <summary>Packed rows (block-diagonal, causal within each sequence, padding at the end) after a cache of 40 positions.</summary>
    static Tensor PackedMask(int t, int cached)
    {
        var m = zeros(2, 1, t, cached + t, dtype: ScalarType.Bool);
        int[][] lengths = [[200, 150, 190], [600]]; // row 0: three sequences and 60 positions of padding
        for (int r = 0; r < 2; r++)
        {
            m[r, 0, .., ..(cached - 5)] = true; // the cache, its first 5 positions padding
            int at = 0;
            foreach (int n in lengths[r])
            {
                m[r, 0, at..(at + n), (cached + at)..(cached + at + n)] = ones(n, n, dtype: ScalarType.Bool).tril();
                at += n;
            }
            for (int p = at; p < t; p++) m[r, 0, p, cached + p] = true; // padding sees itself
        }
        return m;
    }

    [Fact]
    public void A_causal_mask_in_blocks_is_the_single_masked_call()
    {
        int t = 600, cached = 40;
        AssertMaskedIsOneMaskedCall(PackedMask(t, cached), t, cached, new Generator(8));
    }

    /// <summary>Attention.Masked's outputs and gradients (of random q, k, v) are the single masked call's, to 1e-5.</summary>
    static void AssertMaskedIsOneMaskedCall(Tensor mask, int t, int cached, Generator generator)
    {
        var (q, k, v) = (randn(2, 4, t, 16, generator: generator), randn(2, 2, cached + t, 16, generator: generator), randn(2, 2, cached + t, 16, generator: generator));
        var upstream = randn(2, 4, t, 16, generator: generator);
        (Tensor Out, Tensor[] Grads) Run(Func<Tensor, Tensor, Tensor, Tensor, Tensor> attention)
        {
            var (qq, kk, vv) = (q.clone().requires_grad_(), k.clone().requires_grad_(), v.clone().requires_grad_());
            var y = attention(qq, kk, vv, mask);
            (y * upstream).sum().backward();
            return (y.detach(), [qq.grad!, kk.grad!, vv.grad!]);
        }
        var masked = Run(Attention.Masked);
        var single = Run(OneMaskedCall);
        Assert.True(masked.Out.allclose(single.Out, rtol: 0, atol: 1e-5), $"outputs differ by {(masked.Out - single.Out).abs().max().item<float>()}");
        for (int i = 0; i < 3; i++)
            Assert.True(masked.Grads[i].allclose(single.Grads[i], rtol: 0, atol: 1e-5), $"gradient {i} differs by {(masked.Grads[i] - single.Grads[i]).abs().max().item<float>()}");
    }

    [Fact]
    public void A_mask_that_shows_a_later_key_gets_the_single_call()
    {
        var generator = new Generator(9);
        int t = 512;
        var (q, k, v) = (randn(1, 2, t, 16, generator: generator), randn(1, 1, t, 16, generator: generator), randn(1, 1, t, 16, generator: generator));
        var mask = ones(t, t, dtype: ScalarType.Bool).tril().reshape(1, 1, t, t);
        mask[0, 0, 3, t - 1] = true; // query 3 sees the last key: in blocks it would not
        Assert.True(Attention.Masked(q, k, v, mask).allclose(OneMaskedCall(q, k, v, mask), rtol: 0, atol: 1e-6));
    }

    /// <summary>
    /// Packed rows after a cache the first sequence continues (its queries see the cache; the later sequences start at
    /// their own first position), the last 63 positions of row 0 a padding segment: every query sees one run of keys
    /// ending at its own position, so Attention.Masked goes sequence by sequence.
    /// </summary>
    static (Tensor Mask, int[][] Lengths) SequencesAfterACache(int t, int cached)
    {
        int[][] lengths = [[130, 57, 260, 90, 63], [300, 300]];
        var m = zeros(2, 1, t, cached + t, dtype: ScalarType.Bool);
        for (int r = 0; r < 2; r++)
        {
            int at = 0;
            foreach (int n in lengths[r])
            {
                int from = at == 0 ? 0 : cached + at; // the first sequence continues the cache
                for (int i = at; i < at + n; i++) m[r, 0, i, from..(cached + i + 1)] = true;
                at += n;
            }
        }
        return (m, lengths);
    }

    [Fact]
    public void Packed_sequences_one_at_a_time_are_the_single_masked_call()
    {
        int t = 600, cached = 24;
        AssertMaskedIsOneMaskedCall(SequencesAfterACache(t, cached).Mask, t, cached, new Generator(10));
    }

    [Fact]
    public void Nothing_between_two_packed_sequences_is_computed()
    {
        // A NaN value in row 0's third sequence reaches no other sequence's output when the sequences are attended one at a
        // time; a call over the whole row multiplies it by the later sequences' zero weights, which makes NaN.
        var generator = new Generator(11);
        int t = 600, cached = 24;
        var (q, k, v) = (randn(2, 4, t, 16, generator: generator), randn(2, 2, cached + t, 16, generator: generator), randn(2, 2, cached + t, 16, generator: generator));
        var (mask, lengths) = SequencesAfterACache(t, cached);
        int third = lengths[0][0] + lengths[0][1], fourth = third + lengths[0][2];
        v[0, .., cached + third + 5] = float.NaN;
        var nan = Attention.Masked(q, k, v, mask).isnan().any(-1).any(1); // (B, T): a query's output has a NaN
        Assert.True(nan[0, (third + 5)..fourth].all().item<bool>()); // the third sequence's queries that see it
        Assert.False(nan[0, ..third].any().item<bool>() || nan[0, fourth..].any().item<bool>() || nan[1].any().item<bool>()); // no other
        Assert.True(OneMaskedCall(q, k, v, mask)[0, .., fourth..].isnan().any().item<bool>()); // what the call over the whole row does
    }

    [Fact]
    public void Left_padding_where_each_pad_sees_itself_is_the_single_masked_call()
    {
        // Prompt + completion rows as GRPO makes them: 300 pads, each seeing only itself, then causal: a run per pad, too
        // many to attend one at a time, so the query blocks over the whole row take them.
        var generator = new Generator(12);
        int t = 512, pads = 300;
        var (q, k, v) = (randn(1, 2, t, 16, generator: generator), randn(1, 2, t, 16, generator: generator), randn(1, 2, t, 16, generator: generator));
        var mask = zeros(1, 1, t, t, dtype: ScalarType.Bool);
        for (int i = 0; i < t; i++) mask[0, 0, i, (i < pads ? i : pads)..(i + 1)] = true;
        Assert.True(Attention.Masked(q, k, v, mask).allclose(OneMaskedCall(q, k, v, mask), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void A_mask_shared_by_every_row_is_the_single_masked_call()
    {
        // One (1, 1, T, S) mask broadcast over a batch of 2: its sequences hold for every row.
        var generator = new Generator(13);
        int t = 512;
        var (q, k, v) = (randn(2, 4, t, 16, generator: generator), randn(2, 2, t, 16, generator: generator), randn(2, 2, t, 16, generator: generator));
        var mask = zeros(1, 1, t, t, dtype: ScalarType.Bool);
        for (int i = 0; i < t; i++) mask[0, 0, i, (i < 300 ? 0 : 300)..(i + 1)] = true;
        Assert.True(Attention.Masked(q, k, v, mask).allclose(OneMaskedCall(q, k, v, mask), rtol: 0, atol: 1e-5));
    }
}
