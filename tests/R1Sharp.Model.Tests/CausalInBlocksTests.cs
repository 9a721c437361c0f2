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
}
