using System.Diagnostics;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;
using R1Sharp.Tests;
using R1Sharp.Text.Templates;

namespace R1Sharp.Server.Tests;

/// <summary>The built <c>r1sharp</c> as a child process: serve (killed mid-run), chat (piped input), eval (files, resume, errors).</summary>
public sealed class CliProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>src/R1Sharp.Cli/bin/{configuration}/net10.0/r1sharp.dll, built with this test project.</summary>
    internal static string CliDll()
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string dll = Path.Combine(R1Sharp.Tests.RepoPaths.Root, "src", "R1Sharp.Cli", "bin", framework.Parent!.Name, framework.Name, "r1sharp.dll");
        Assert.True(File.Exists(dll), $"{dll} not built");
        return dll;
    }

    private static Process Start(string stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(CliDll());
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        var p = Process.Start(psi)!;
        p.StandardInput.Write(stdin);
        if (stdin.Length > 0) p.StandardInput.Close();
        return p;
    }

    internal static async Task<(int Code, string Out, string Err)> Run(string stdin, params string[] args)
    {
        using var p = Start(stdin, args);
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (p.ExitCode, await output, await error);
    }

    [Fact]
    public async Task ServeProcessKilledMidRun_TheRemoteBackendLosesNothing()
    {
        using var serve = Start("", "serve", "--model", TinyModel.Directory, "--port", "0", "--served-model", "tiny", "--quiet");
        try
        {
            string line = (await serve.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)))!;
            Assert.StartsWith("listening on http://127.0.0.1:", line);
            var url = new Uri(line.Split(' ')[2]);

            using var model = LocalModel.Load(TinyModel.Directory);
            await using var healthy = await OpenAiServer.StartAsync(model, new ServerOptions { Port = 0, ServedModelName = "tiny" });
            using var remote = new RemoteGenerationBackend(new RemoteBackendOptions
            {
                Endpoints = [url, healthy.BaseAddress], Model = "tiny", MaxConcurrency = 8, MaxAttempts = 30,
                InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200),
            });
            var requests = Enumerable.Range(0, 40).Select(i => new GenerationRequest(GenerationPrompt.FromText($"Question {i}: how many apples?"),
                new GenerationOptions { MaxNewTokens = 150, Temperature = 0.8, SkipSpecialTokens = true }, N: 2)).ToList();
            var got = new Dictionary<int, GenerationResult>();
            await foreach (var (index, result) in remote.GenerateAsync(requests))
            {
                got.Add(index, result);
                if (got.Count == 3) serve.Kill(); // the process dies with requests in flight
            }
            Assert.Equal(40, got.Count);
            Assert.All(got.Values, r => Assert.Equal(2, r.Samples.Count));
            Assert.True(remote.Retries > 0, "requests lost with the process were sent again");
        }
        finally
        {
            if (!serve.HasExited) serve.Kill();
        }
    }

    [Fact]
    public async Task Chat_TakesPipedLines_ShowsEachReply_ResetForgets()
    {
        var (code, output, error) = await Run("Tom has 5 apples.\n/reset\nHi there\n/exit\n",
            "chat", "--model", TinyModel.Directory, "--temperature", "0", "--max-new-tokens", "12");
        Assert.True(code == 0, error);
        using var local = LocalGenerationBackend.Load(TinyModel.Directory);
        var greedy = new GenerationOptions { MaxNewTokens = 12, Temperature = 0 };
        foreach (var question in new[] { "Tom has 5 apples.", "Hi there" })
        {
            var text = local.GenerateAll([new GenerationRequest(GenerationPrompt.FromChat([ChatMessage.User(question)]), greedy)])[0].Samples[0].Text;
            Assert.Contains(ThinkSplitter.Split(text).Answer.Trim(), output);
        }
        Assert.Equal(2, output.Split('\n').Count(l => l == "assistant:"));
        Assert.Contains("(conversation cleared)", output);
        Assert.Equal(2, output.Split('\n').Count(l => l.StartsWith("[12 tokens") || l.EndsWith("tokens, done]")));
    }

    [Fact]
    public async Task Eval_WritesResults_Resumes_AndRefusesOtherSettings()
    {
        string output = Path.Combine(_dir, "run");
        string[] common = ["eval", "--model", TinyModel.Directory, "--benchmark", "gsm8k", "--samples", "2", "--max-new-tokens", "8", "--output", output, "--json"];
        var (code, stdout, stderr) = await Run("", [.. common, "--limit", "3"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("[eval] 3/3 problems", stderr);
        var first = JsonNode.Parse(stdout)!;
        Assert.Equal(3, (int)first["problems"]!);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(output, "results.jsonl")).Length);

        (code, stdout, stderr) = await Run("", [.. common, "--limit", "5"]);
        Assert.True(code == 0, stderr);
        var second = JsonNode.Parse(stdout)!;
        Assert.Equal(3, (int)second["resumed_problems"]!);
        Assert.Equal(2, (int)second["generated_problems"]!);
        Assert.Equal("chat", (string)second["settings"]!["template"]!);

        (code, _, stderr) = await Run("", [.. common, "--limit", "5", "--temperature", "0.9"]);
        Assert.Equal(1, code);
        Assert.Contains(stderr.Split('\n'), l => l.StartsWith("error: ") && l.Contains("temperature was 0.6, now 0.9"));

        (code, _, stderr) = await Run("", "eval", "--model", TinyModel.Directory, "--endpoint", "http://127.0.0.1:1", "--benchmark", "gsm8k");
        Assert.Equal(1, code);
        Assert.Contains("exactly one of --model and --endpoint", stderr);
    }
}
