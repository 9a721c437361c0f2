using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Model.Tests;

/// <summary>TorchSharp's native library loads here (build/LibTorchSharpFix.cs) and autograd works.</summary>
public class TorchSmokeTests
{
    [Fact]
    public void Tensor_operation_and_backward_run()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1f, -2f, 3f }, requires_grad: true);
        var y = (x * x).sum() + (3f * x).sum();   // dy/dx = 2x + 3
        y.backward();
        Assert.Equal(new float[] { 5f, -1f, 9f }, x.grad!.data<float>().ToArray());
        Assert.Equal(14f + 6f, y.item<float>());
    }

    [Fact]
    public void Matmul_matches_hand_computed_product()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[,] { { 1, 2 }, { 3, 4 } });
        var b = tensor(new float[,] { { 5, 6 }, { 7, 8 } });
        Assert.Equal(new float[] { 19, 22, 43, 50 }, a.matmul(b).data<float>().ToArray());
    }
}
