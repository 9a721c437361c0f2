using System.CommandLine;
using System.Text.Json.Nodes;
using R1Sharp.Model;
using static TorchSharp.torch;

namespace R1Sharp.Cli.Commands;

/// <summary><c>r1sharp score --model DIR --ids 5,17,42 --json</c>: log p(token_t | tokens_&lt;t) for each token.</summary>
public static class ScoreCommand
{
    public static Command Create()
    {
        var model = Shared.Model();
        var ids = new Option<string>("--ids") { Description = "Comma-separated token ids, e.g. 5,17,42.", Required = true };
        var dtype = Shared.DType();
        var device = Shared.Device();
        var threads = Shared.Threads();
        var json = Shared.Json();
        var command = new Command("score",
            "Score a token sequence: token_logprobs[t] = log p(token_t | tokens before t); null for the first token.")
        { model, ids, dtype, device, threads, json };
        command.SetAction(r =>
        {
            var tokens = Shared.ParseIds(r.GetValue(ids)!, "--ids");
            CheckDType(r.GetValue(dtype));
            Shared.SetThreads(r.GetValue(threads));
            using var m = Shared.LoadModel(r.GetValue(model)!, r.GetValue(dtype), r.GetValue(device)!);
            Shared.CheckIds(tokens, m.Config, "--ids");
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var input = tensor(tokens.Select(t => (long)t).ToArray(), device: m.Device).unsqueeze(0);   // (1, T)
            var logp = m.Forward(input).log_softmax(-1).squeeze(0);                                     // (T, V)
            var next = input.squeeze(0).narrow(0, 1, tokens.Length - 1).unsqueeze(1);                  // (T-1, 1)
            var scores = logp.narrow(0, 0, tokens.Length - 1).gather(1, next).squeeze(1).cpu().data<float>().ToArray();
            var values = new JsonArray { null };
            foreach (var s in scores) values.Add((double)s);
            if (r.GetValue(json)) Console.WriteLine(new JsonObject { ["ids"] = new JsonArray(tokens.Select(t => (JsonNode)t).ToArray()), ["token_logprobs"] = values }.ToJsonString());
            else
            {
                Console.WriteLine($"{"position",8} {"token",8} {"log p",12}");
                for (int t = 0; t < tokens.Length; t++)
                    Console.WriteLine($"{t,8} {tokens[t],8} {(t == 0 ? "—" : scores[t - 1].ToString("F6")),12}");
                Console.WriteLine($"total log p = {scores.Sum():F6} over {scores.Length} predicted tokens");
            }
            return 0;
        });
        return command;
    }

    /// <summary><c>--dtype</c>, when given, names a model dtype (checked before the model is loaded).</summary>
    public static void CheckDType(string? dtype)
    {
        if (dtype is null) return;
        try { Precision.Parse(dtype); }
        catch (ArgumentException e) { throw new UserError($"--dtype: {e.Message}"); }
    }
}
