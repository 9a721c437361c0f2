using System.CommandLine;
using System.Text.RegularExpressions;
using R1Sharp.Training.Optim;
using R1Sharp.Training.State;
using R1Sharp.Model;

namespace R1Sharp.Cli.Tests.Malformed;

/// <summary>
/// The malformed-input corpus (<see cref="MalformedCorpus"/>): for every case, r1sharp (run in-process) must exit non-zero
/// with one "error: …" line that names the file and the line / field / tensor / option and what was expected — never a
/// stack trace, never the catch-all "unexpected …" — and must leave every file that existed before byte for byte as it was.
/// </summary>
public class MalformedInputTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in MalformedCorpus.All) data.Add(c.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fails_with_one_clear_error_and_changes_nothing(string name)
    {
        var c = MalformedCorpus.ByName[name];
        using var ws = new Workspace();
        c.Setup(ws);
        var before = ws.Fingerprint();
        var args = c.Args(ws);

        var r = InProcessCli.Run(args);

        string report = $"r1sharp {string.Join(' ', args)}\n{r}";
        Assert.True(r.ExitCode != 0, $"exit code 0\n{report}");
        Assert.StartsWith("error: ", r.Stderr);
        foreach (var fragment in c.Expect(ws))
            Assert.True(r.Stderr.Contains(fragment, StringComparison.Ordinal), $"the error does not contain '{fragment}'\n{report}");
        Assert.False(Regex.IsMatch(r.Stderr, @"unexpected \w+Exception:"), $"not a validated error (the catch-all answered)\n{report}");
        Assert.False(r.Stderr.Contains("   at ", StringComparison.Ordinal), $"a stack trace\n{report}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length <= 2, $"more than one error line (and a hint)\n{report}");

        var after = ws.Fingerprint();
        foreach (var (path, hash) in before)
            Assert.True(after.TryGetValue(path, out var now) && now == hash, $"{path} was {(now is null ? "deleted" : "changed")}\n{report}");
        foreach (var path in c.MustNotExist(ws))
            Assert.False(File.Exists(path) || Directory.Exists(path), $"{path} was created\n{report}");
    }

    [Fact]
    public void The_corpus_has_over_a_hundred_distinct_cases_of_every_kind()
    {
        Assert.True(MalformedCorpus.All.Count >= 100, $"{MalformedCorpus.All.Count} cases");
        Assert.Equal(MalformedCorpus.All.Count, MalformedCorpus.All.Select(c => c.Name).Distinct().Count());
        foreach (var kind in new[] { "config.json", "generation_config.json", "model.safetensors", "sharded", "adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json",
                     "--config", "--resume trainer_state.json", "--resume optimizer.bin", "--resume rng.bin", "flag" })
            Assert.Contains(MalformedCorpus.All, c => c.Name.StartsWith(kind, StringComparison.Ordinal));
    }

    /// <summary>The control: the same inputs, uncorrupted, are accepted by the same commands.</summary>
    [Fact]
    public void The_pristine_inputs_are_accepted()
    {
        using var ws = new Workspace();
        ws.Copy(PristineInputs.Qwen2, "model");
        ws.Copy(PristineInputs.Llama3, "sharded");
        ws.Copy(PristineInputs.Tokenizer, "tok");
        ws.Copy(PristineInputs.Adapter, "adapter");
        foreach (var args in new[]
                 {
                     ["generate", "--model", ws["model"], "--adapter", ws["adapter"], "--ids", "1,2,3", "-n", "2"],
                     ["merge", "--model", ws["model"], "--adapter", ws["adapter"], "--output", ws["merged"]],
                     ["info", "--model", ws["model"]], ["info", "--model", ws["sharded"]], ["score", "--model", ws["model"], "--ids", "1,2,3"],
                     ["generate", "--model", ws["model"], "--ids", "1,2,3", "-n", "2", "--temperature", "0.7", "--top-p", "0.9", "--seed", "1"],
                     new[] { "tokenize", "--tokenizer", ws["tok"], "--text", "hello world" },
                 })
        {
            var r = InProcessCli.Run(args);
            Assert.True(r.ExitCode == 0, $"r1sharp {string.Join(' ', args)}\n{r}");
        }

        // The resume checkpoint restores into the optimiser of the model it was saved from.
        var checkpoint = Path.Combine(PristineInputs.ResumeRun, "checkpoint");
        using var model = Checkpoint.Load(checkpoint);
        using var optimizer = Optimizers.AdamW(model, 1e-6);
        var state = TrainingCheckpoint.Restore(checkpoint, optimizer);
        Assert.Equal((1, 2L), (state.Step, state.DataPosition));
    }

    [Fact]
    public void An_unexpected_exception_is_one_line_naming_the_command_and_its_input_and_the_trace_comes_with_verbose()
    {
        using var ws = new Workspace();
        var model = ws.Copy(PristineInputs.Qwen2, "model");
        var verbose = new Option<bool>("--verbose") { Recursive = true };
        var parse = CliApp.CreateRoot(verbose).Parse(["info", "--model", model, "--json"]);

        var quiet = InProcessCli.Capture(() => CliErrors.Run(parse, verbose: false, () => throw new NullReferenceException("Object reference not set to an instance of an object.")));
        Assert.Equal(1, quiet.ExitCode);
        var said = Regex.Match(quiet.Stderr.Trim(), $@"^error: r1sharp info --model {Regex.Escape(model)}: unexpected NullReferenceException: " +
                                                     @"Object reference not set to an instance of an object\. \(the trace is in (/\S+\.log); --verbose prints it\)$");
        Assert.True(said.Success, quiet.Stderr);
        // the whole exception is kept (info has no --output: in the temporary folder)
        string report = said.Groups[1].Value;
        Assert.StartsWith(Path.GetFullPath(Path.GetTempPath()), report);
        Assert.Contains("System.NullReferenceException: Object reference not set", File.ReadAllText(report));
        File.Delete(report);

        // a libtorch error keeps the line that says where it was raised; a command's existing --output folder gets the report
        string output = Path.Combine(ws.Root, "run");
        Directory.CreateDirectory(output);
        var grpo = CliApp.CreateRoot(verbose).Parse(["grpo", "--model", model, "--output", output]);
        var native = InProcessCli.Capture(() => CliErrors.Run(grpo, verbose: false, () => throw new System.Runtime.InteropServices.ExternalException(
            "Expected false to be true, but got false.  (Could this error message be improved?)\nException raised from f at ../aten/src/x.cpp:12 (most recent call first):\nframe #0: ...")));
        Assert.Contains("unexpected ExternalException: Expected false to be true, but got false.  (Could this error message be improved?) " +
                        "[Exception raised from f at ../aten/src/x.cpp:12] (the trace is in " + Path.Combine(output, "error-"), native.Stderr);
        Assert.Contains("frame #0", File.ReadAllText(Directory.GetFiles(output, "error-*.log").Single()));

        var loud = InProcessCli.Capture(() => CliErrors.Run(parse, verbose: true, () => throw new InvalidOperationException("first line\nsecond line")));
        Assert.Equal(1, loud.ExitCode);
        var lines = loud.Stderr.Split('\n');
        Assert.Equal($"error: r1sharp info --model {model}: unexpected InvalidOperationException: first line (the trace follows)", lines[0].Trim());
        Assert.Contains(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));

        // --verbose is accepted after any command; a user's mistake then also shows where it was detected.
        File.WriteAllText(Path.Combine(model, "config.json"), "{\"architectures\": [5]}");
        var r = InProcessCli.Run("info", "--model", model, "--verbose");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"error: {Path.Combine(model, "config.json")}: field 'architectures'", r.Stderr);
        Assert.Contains("   at R1Sharp.Model.ModelConfig.FromJson", r.Stderr);
        Assert.DoesNotContain("   at ", InProcessCli.Run("info", "--model", model).Stderr);
    }
}
