using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using R1Sharp.Tests;

namespace R1Sharp.Server.Tests;

/// <summary>
/// <c>r1sharp serve</c> on the mixture-of-experts fixtures (DeepSeek-V3 with latent attention and its compressed-latent
/// cache, Qwen3-MoE), as a real process over HTTP: a greedy completion equals <c>r1sharp generate</c>'s and the
/// PyTorch reference continuation in the fixture's case.json.
/// </summary>
public sealed class MoeServeTests
{
    [Theory]
    [InlineData("deepseek-v3-tiny")]
    [InlineData("qwen3-moe-tiny")]
    public async Task Serve_gives_the_greedy_completion_of_generate_and_of_the_reference(string name)
    {
        var dir = RepoPaths.Fixture("hf-tiny", name);
        var reference = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "case.json")))!;
        int[] prompt = [.. reference["greedy_prompt"]!.AsArray().Select(n => (int)n!)];
        int[] expected = [.. reference["greedy_continuation"]!.AsArray().Select(n => (int)n!)];

        var (code, output, error) = await CliProcessTests.Run("", "generate", "--model", dir, "--ids", string.Join(",", prompt),
            "-n", expected.Length.ToString(), "--json");
        Assert.True(code == 0, error);
        var generated = JsonNode.Parse(output)!["ids"]!.AsArray().Select(n => (int)n!).ToArray();
        Assert.Equal(expected, generated);

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { CliProcessTests.CliDll(), "serve", "--model", dir, "--port", "0", "--served-model", "moe", "--quiet" })
            psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        using var serve = Process.Start(psi)!;
        try
        {
            string line = (await serve.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(90)))!;
            Assert.StartsWith("listening on http://127.0.0.1:", line);
            using var http = new HttpClient { BaseAddress = new Uri(line.Split(' ')[2]), Timeout = TimeSpan.FromSeconds(60) };
            var response = await http.PostAsJsonAsync("v1/completions", new JsonObject
            {
                ["model"] = "moe",
                ["prompt"] = new JsonArray([.. prompt.Select(i => (JsonNode)i)]),
                ["max_tokens"] = expected.Length,
                ["temperature"] = 0,
                ["return_token_ids"] = true,
            });
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
            var choice = body["choices"]![0]!;
            Assert.Equal(expected, choice["token_ids"]!.AsArray().Select(n => (int)n!));
            Assert.Equal("length", (string)choice["finish_reason"]!);
        }
        finally
        {
            if (!serve.HasExited) serve.Kill();
        }
    }
}
