using System.Text.Json;
using R1Sharp.Model;
using R1Sharp.Tests;
using static TorchSharp.torch;

namespace R1Sharp.Cli.Tests;

/// <summary>
/// <c>r1sharp merge</c> and <c>--adapter</c> against tests/fixtures/lora (PEFT-layout adapters with merged weights and
/// logits from an independent PyTorch implementation).
/// </summary>
public class LoraCommandTests
{
    static readonly string Base = RepoPaths.Fixture("hf-tiny", "qwen2-tiny");
    static readonly string Adapter = RepoPaths.Fixture("lora", "qwen2-tiny-rslora");

    /// <summary>The greedy next token of each reference row: the argmax of the reference logits at its last position.</summary>
    static (int[] Prompt, int Next)[] ReferenceNextTokens()
    {
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Adapter, "reference.json"))).RootElement;
        return json.GetProperty("input_ids").EnumerateArray().Zip(json.GetProperty("logits").EnumerateArray(), (ids, logits) =>
        {
            var last = logits.EnumerateArray().Last().EnumerateArray().Select(v => v.GetDouble()).ToList();
            return (ids.EnumerateArray().Select(v => v.GetInt32()).ToArray(), last.IndexOf(last.Max()));
        }).ToArray();
    }

    [Fact]
    public void Merge_writes_the_reference_weights_and_generate_agrees_with_and_without_merging()
    {
        using var tmp = new TempDir();
        var output = tmp.File("merged");
        var json = CliRunner.Ok("merge", "--model", Base, "--adapter", Adapter, "--output", output, "--json").Json();
        Assert.Equal(6, json.GetProperty("merged_layers").GetInt32()); // o_proj, gate_proj, down_proj × 2 layers
        Assert.Equal(16 / Math.Sqrt(8), json.GetProperty("scaling").GetDouble(), 9);
        Assert.Empty(Directory.GetDirectories(tmp.Path, ".merged*")); // no staging folder left behind

        var header = SafeTensors.ReadHeader(Path.Combine(output, Checkpoint.WeightsFile));
        var refHeader = SafeTensors.ReadHeader(Path.Combine(Adapter, "merged.safetensors"));
        using (var ours = File.OpenRead(header.Path))
        using (var theirs = File.OpenRead(refHeader.Path))
            foreach (var e in refHeader.Entries)
            {
                using var a = SafeTensors.Read(header, header.Entries.Single(x => x.Name == e.Name), ours);
                using var b = SafeTensors.Read(refHeader, e, theirs);
                Assert.True((a - b).abs().max().item<float>() <= 1e-5, e.Name);
            }
        Assert.DoesNotContain(header.Entries, e => e.Name.Contains("lora"));

        foreach (var (prompt, next) in ReferenceNextTokens())
        {
            var ids = string.Join(",", prompt);
            var adapted = CliRunner.Ok("generate", "--model", Base, "--adapter", Adapter, "--ids", ids, "-n", "6", "--json").Json();
            var merged = CliRunner.Ok("generate", "--model", output, "--ids", ids, "-n", "6", "--json").Json();
            var a = adapted.GetProperty("ids").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            Assert.Equal(next, a[0]);
            Assert.Equal(a, merged.GetProperty("ids").EnumerateArray().Select(v => v.GetInt32()));
        }
    }

    /// <summary>
    /// An adapter saved with lora_dropout > 0 (qwen2-tiny-qv: 0.05) decodes as its merged checkpoint, the same every run:
    /// dropout belongs to training, and a loaded model is in inference mode.
    /// </summary>
    [Fact]
    public void Generate_with_an_adapter_trained_with_dropout_is_deterministic_and_equals_the_merged_model()
    {
        using var tmp = new TempDir();
        var adapter = RepoPaths.Fixture("lora", "qwen2-tiny-qv");
        var merged = tmp.File("merged");
        CliRunner.Ok("merge", "--model", Base, "--adapter", adapter, "--output", merged);
        static int[] Ids(JsonElement json) => json.GetProperty("ids").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var expected = Ids(CliRunner.Ok("generate", "--model", merged, "--ids", "1,2,3", "-n", "8", "--temperature", "0", "--json").Json());
        for (int run = 0; run < 3; run++)
            Assert.Equal(expected, Ids(CliRunner.Ok("generate", "--model", Base, "--adapter", adapter, "--ids", "1,2,3", "-n", "8", "--temperature", "0", "--json").Json()));
    }

    [Fact]
    public void Merge_refuses_an_existing_output_and_bad_adapters_with_one_clear_line()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.File("out"));
        var existing = tmp.Write("out/keep.txt", "precious");
        var e = CliRunner.Fails("merge", "--model", Base, "--adapter", Adapter, "--output", tmp.File("out"));
        Assert.Contains("already exists", e);
        Assert.Equal("precious", File.ReadAllText(existing).Trim());

        var bad = Path.Combine(tmp.Path, "dora");
        Directory.CreateDirectory(bad);
        foreach (var f in Directory.GetFiles(Adapter)) File.Copy(f, Path.Combine(bad, Path.GetFileName(f)));
        var config = Path.Combine(bad, Lora.ConfigFile);
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"use_dora\": false", "\"use_dora\": true"));
        e = CliRunner.Fails("merge", "--model", Base, "--adapter", bad, "--output", tmp.File("out2"));
        Assert.Contains($"{config}: field 'use_dora'", e);
        Assert.False(Directory.Exists(tmp.File("out2")));

        e = CliRunner.Fails("generate", "--model", RepoPaths.Fixture("hf-tiny", "llama3-tiny"), "--adapter", Adapter, "--ids", "1,2");
        Assert.Contains("missing tensor", e); // llama3-tiny's shapes are not qwen2-tiny's: the adapter does not fit
        e = CliRunner.Fails("generate", "--model", Base, "--adapter", tmp.File("nowhere"), "--ids", "1,2");
        Assert.Contains("no such adapter folder", e);
        e = CliRunner.Fails("eval", "--endpoint", "http://127.0.0.1:9/v1", "--adapter", Adapter, "--benchmark", "gsm8k");
        Assert.Contains("--adapter goes with --model", e);
    }
}
