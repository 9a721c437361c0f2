using System.Text;
using System.Text.Json.Nodes;
using static R1Sharp.Cli.Tests.Malformed.Corrupt;

namespace R1Sharp.Cli.Tests.Malformed;

/// <summary>
/// The corpus: every kind of file r1sharp reads, corrupted the ways files get corrupted (hand edits, truncated copies,
/// other tools' output, bit rot), and command-line values out of range. Each case names what its error must say.
/// </summary>
public static class MalformedCorpus
{
    public static IReadOnlyList<MalformedCase> All { get; } =
    [
        .. ConfigJson(), .. GenerationConfig(), .. SafetensorsFiles(), .. ShardIndex(), .. AdapterFiles(), .. TokenizerFiles(), .. YamlConfigs(),
        .. ResumeFiles(), .. CommandLineValues(),
    ];

    public static IReadOnlyDictionary<string, MalformedCase> ByName { get; } = All.ToDictionary(c => c.Name);

    // ------------------------------------------------------------------ config.json (info, generate, score)

    static string[] Info(Workspace ws) => ["info", "--model", ws["model"]];
    static string[] Generate(Workspace ws) => ["generate", "--model", ws["model"], "--ids", "1,2,3", "-n", "2"];
    static string[] Score(Workspace ws) => ["score", "--model", ws["model"], "--ids", "1,2,3"];

    /// <summary>config.json of the qwen2-tiny fixture with one field set to <paramref name="literal"/> (null: removed).</summary>
    static MalformedCase Config(string name, string key, string? literal, string expected, Func<Workspace, string[]>? command = null,
        string? fixture = null) => new(
        $"config.json: {name}",
        ws =>
        {
            ws.Copy(fixture ?? PristineInputs.Qwen2, "model");
            EditJson(ws["model/config.json"], Field(key, literal));
        },
        command ?? Info,
        ws => [ws["model/config.json"], expected]);

    static MalformedCase ConfigBytes(string name, byte[] content, params string[] expected) => new(
        $"config.json: {name}",
        ws =>
        {
            ws.Copy(PristineInputs.Qwen2, "model");
            File.WriteAllBytes(ws["model/config.json"], content);
        },
        Info,
        ws => [ws["model/config.json"], .. expected]);

    static IEnumerable<MalformedCase> ConfigJson()
    {
        yield return Config("architectures [5]", "architectures", "[5]", "field 'architectures': expected a list of architecture names");
        yield return Config("architectures [5] (generate)", "architectures", "[5]", "field 'architectures': expected a list", Generate);
        yield return Config("architectures a string", "architectures", "\"Qwen2ForCausalLM\"", "field 'architectures': expected a list");
        yield return Config("architectures empty", "architectures", "[]", "field 'architectures': expected a list");
        yield return Config("architectures missing", "architectures", null, "field 'architectures' is missing");
        yield return Config("architectures unknown", "architectures", "[\"MistralForCausalLM\"]", "unknown architecture 'MistralForCausalLM'");
        yield return Config("torch_dtype 5", "torch_dtype", "5", "field 'torch_dtype': expected a string, got the number 5");
        yield return Config("torch_dtype 5 (generate)", "torch_dtype", "5", "field 'torch_dtype': expected a string", Generate);
        yield return Config("torch_dtype int8", "torch_dtype", "\"int8\"", "field 'torch_dtype': unknown dtype 'int8'");
        yield return Config("eos_token_id [null]", "eos_token_id", "[null]", "field 'eos_token_id[0]': expected a token id");
        yield return Config("eos_token_id 1.5", "eos_token_id", "1.5", "field 'eos_token_id': expected a token id (an integer ≥ 0), got the number 1.5");
        yield return Config("eos_token_id 1.5 (generate)", "eos_token_id", "1.5", "field 'eos_token_id': expected a token id", Generate);
        yield return Config("eos_token_id -3", "eos_token_id", "-3", "field 'eos_token_id': expected a token id");
        yield return Config("eos_token_id a string", "eos_token_id", "\"2\"", "field 'eos_token_id': expected a token id (an integer ≥ 0), got the string \"2\"");
        yield return Config("eos_token_id [2, \"x\"]", "eos_token_id", "[2, \"x\"]", "field 'eos_token_id[1]'");
        yield return Config("bos_token_id 1.5", "bos_token_id", "1.5", "field 'bos_token_id': expected a token id");
        yield return Config("pad_token_id an object", "pad_token_id", "{}", "field 'pad_token_id': expected a token id (an integer ≥ 0), got an object");
        yield return Config("hidden_size -1", "hidden_size", "-1", "field 'hidden_size': expected an integer ≥ 1");
        yield return Config("hidden_size -1 (generate)", "hidden_size", "-1", "field 'hidden_size': expected an integer ≥ 1", Generate);
        yield return Config("hidden_size 0", "hidden_size", "0", "field 'hidden_size': expected an integer ≥ 1");
        yield return Config("hidden_size a string", "hidden_size", "\"64\"", "field 'hidden_size': expected an integer ≥ 1 (at most 2147483647), got the string \"64\"");
        yield return Config("hidden_size 64.5", "hidden_size", "64.5", "field 'hidden_size': expected an integer ≥ 1 (at most 2147483647), got the number 64.5");
        yield return Config("hidden_size missing", "hidden_size", null, "field 'hidden_size' is missing");
        yield return Config("num_attention_heads 0", "num_attention_heads", "0", "field 'num_attention_heads': expected an integer ≥ 1");
        yield return Config("num_attention_heads 0 (score)", "num_attention_heads", "0", "field 'num_attention_heads': expected an integer ≥ 1", Score);
        yield return Config("hidden_size not divisible by heads", "num_attention_heads", "6",
            "field 'num_attention_heads': hidden_size 64 is not divisible by num_attention_heads 6");
        yield return Config("num_key_value_heads 3", "num_key_value_heads", "3", "field 'num_key_value_heads': 3 must divide num_attention_heads 4");
        yield return Config("num_key_value_heads 0", "num_key_value_heads", "0", "field 'num_key_value_heads': expected an integer ≥ 1");
        yield return Config("vocab_size 1e12", "vocab_size", "1e12", "field 'vocab_size': expected an integer ≥ 1 (at most 2147483647), got the number 1e12");
        yield return Config("vocab_size 1e12 (generate)", "vocab_size", "1e12", "field 'vocab_size': expected an integer ≥ 1", Generate);
        yield return Config("vocab_size null", "vocab_size", "null", "field 'vocab_size' is missing");
        yield return Config("intermediate_size true", "intermediate_size", "true", "field 'intermediate_size': expected an integer ≥ 1 (at most 2147483647), got the boolean true");
        yield return Config("num_hidden_layers -2", "num_hidden_layers", "-2", "field 'num_hidden_layers': expected an integer ≥ 1");
        yield return Config("head_dim 0", "head_dim", "0", "field 'head_dim': expected an integer ≥ 1");
        yield return Config("head_dim odd", "head_dim", "15", "field 'head_dim': the head dimension 15 must be even");
        yield return Config("max_position_embeddings 0", "max_position_embeddings", "0", "field 'max_position_embeddings': expected an integer ≥ 1");
        yield return Config("rms_norm_eps -1", "rms_norm_eps", "-1", "field 'rms_norm_eps': expected a finite number > 0, got the number -1");
        yield return Config("rms_norm_eps a string", "rms_norm_eps", "\"1e-6\"", "field 'rms_norm_eps': expected a finite number > 0");
        yield return Config("rope_theta 0", "rope_theta", "0", "field 'rope_theta': expected a finite number > 0");
        yield return Config("initializer_range -0.02", "initializer_range", "-0.02", "field 'initializer_range': expected a finite number ≥ 0");
        yield return Config("tie_word_embeddings \"yes\"", "tie_word_embeddings", "\"yes\"", "field 'tie_word_embeddings': expected true or false, got the string \"yes\"");
        yield return Config("attention_bias 1", "attention_bias", "1", "field 'attention_bias': expected true or false, got the number 1");
        yield return Config("use_sliding_window \"true\"", "use_sliding_window", "\"true\"", "field 'use_sliding_window': expected true or false");
        yield return Config("hidden_act gelu", "hidden_act", "\"gelu\"", "field 'hidden_act': 'gelu' is not supported");
        yield return Config("hidden_act 5", "hidden_act", "5", "field 'hidden_act': expected a string, got the number 5");
        yield return Config("rope_scaling 5", "rope_scaling", "5", "field 'rope_scaling': expected an object (or null), got the number 5");
        yield return Config("rope_scaling type 5", "rope_scaling", "{\"rope_type\": 5}", "field 'rope_scaling.rope_type': expected a string");
        yield return Config("rope_scaling dynamic", "rope_scaling", "{\"rope_type\": \"dynamic\", \"factor\": 4}", "field 'rope_scaling': rope type 'dynamic' is not supported");
        yield return Config("rope_parameters rope_theta a string", "rope_parameters", "{\"rope_type\": \"default\", \"rope_theta\": \"big\"}",
            "field 'rope_parameters.rope_theta': expected a finite number > 0");
        yield return Config("llama3 rope factor missing", "rope_scaling",
            "{\"rope_type\": \"llama3\", \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}",
            "field 'rope_scaling.factor' is missing", fixture: PristineInputs.Llama3);
        yield return Config("llama3 original_max_position_embeddings a string", "rope_scaling",
            "{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": \"8192\"}",
            "field 'rope_scaling.original_max_position_embeddings': expected an integer ≥ 1", fixture: PristineInputs.Llama3);
        yield return Config("llama3 high_freq_factor below low", "rope_scaling",
            "{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0, \"high_freq_factor\": 1.0, \"original_max_position_embeddings\": 8192}",
            "field 'rope_scaling.high_freq_factor': 1 must be greater than low_freq_factor 4", fixture: PristineInputs.Llama3);
        yield return Config("sizes describing 10^14 parameters", "num_hidden_layers", "2000000000", "parameters; expected at most 1E+013");
        yield return Config("vocab_size larger than the weights (generate)", "vocab_size", "100000",
            ": vocab_size 100000, hidden_size 64)", Generate);
        yield return Config("num_hidden_layers larger than the weights (score)", "num_hidden_layers", "1000",
            "missing tensor(s) 'model.layers.999.mlp.down_proj.weight'", Score);
        yield return Config("reward model with 2 labels", "architectures", "[\"Qwen2ForSequenceClassification\"]",
            "field 'id2label': Qwen2ForSequenceClassification with 2 labels");
        yield return ConfigBytes("truncated", Encoding.UTF8.GetBytes("{\n  \"vocab_size\": 320,\n  \"hidden_size\": "), "line 3: not valid JSON");
        yield return ConfigBytes("empty", [], "empty file, expected a config.json");
        yield return ConfigBytes("a JSON list", "[1, 2]"u8.ToArray(), "expected a config.json (a JSON object {…}), got the list [1,2]");
        yield return ConfigBytes("a key twice", Encoding.UTF8.GetBytes(File.ReadAllText(Path.Combine(PristineInputs.Qwen2, "config.json")).Replace("{", "{\n  \"hidden_size\": 32,")),
            "key 'hidden_size' appears twice");
        yield return ConfigBytes("not UTF-8", [.. "{\"model_type\": \"qwen"u8, 0xFF, 0xFE, .. "\"}"u8], "line 1: byte 20 is not valid UTF-8");
        yield return ConfigBytes("NaN", Encoding.UTF8.GetBytes(File.ReadAllText(Path.Combine(PristineInputs.Qwen2, "config.json")).Replace("1e-06", "NaN")),
            "not valid JSON");
        yield return new MalformedCase("config.json: is a folder",
            ws =>
            {
                ws.Copy(PristineInputs.Qwen2, "model");
                File.Delete(ws["model/config.json"]);
                Directory.CreateDirectory(ws["model/config.json"]);
            },
            Info, ws => [ws["model/config.json"], "not found"]);
        yield return new MalformedCase("config.json: missing",
            ws =>
            {
                ws.Copy(PristineInputs.Qwen2, "model");
                File.Delete(ws["model/config.json"]);
            },
            Generate, ws => [ws["model/config.json"], "not found (is"]);
        yield return new MalformedCase("--model: a file",
            ws => ws.Copy(PristineInputs.Qwen2, "model"),
            ws => ["info", "--model", ws["model/model.safetensors"]], ws => [ws["model/model.safetensors"], "is a file; expected a checkpoint folder"]);
        yield return new MalformedCase("--model: no such folder",
            _ => { }, ws => ["score", "--model", ws["nothing"], "--ids", "1,2"], ws => [ws["nothing"], "no such checkpoint folder"]);
    }

    // ------------------------------------------------------------------ generation_config.json (generate)

    static MalformedCase GenerationConfig(string name, string content, string expected) => new(
        $"generation_config.json: {name}",
        ws =>
        {
            ws.Copy(PristineInputs.Qwen2, "model");
            File.WriteAllText(ws["model/generation_config.json"], content);
        },
        Generate,
        ws => [ws["model/generation_config.json"], expected]);

    static IEnumerable<MalformedCase> GenerationConfig()
    {
        yield return GenerationConfig("do_sample \"yes\"", "{\"do_sample\": \"yes\"}", "field 'do_sample': expected true or false");
        yield return GenerationConfig("temperature -1", "{\"do_sample\": true, \"temperature\": -1}", "field 'temperature': expected a number ≥ 0");
        yield return GenerationConfig("top_p 2", "{\"do_sample\": true, \"top_p\": 2}", "field 'top_p': expected a number in (0, 1]");
        yield return GenerationConfig("top_k 1.5", "{\"do_sample\": true, \"top_k\": 1.5}", "field 'top_k': expected an integer ≥ 0");
        yield return GenerationConfig("eos_token_id [null]", "{\"eos_token_id\": [null]}", "field 'eos_token_id[0]': expected a token id");
        yield return GenerationConfig("eos_token_id \"2\"", "{\"eos_token_id\": \"2\"}", "field 'eos_token_id': expected a token id");
        yield return GenerationConfig("truncated", "{\"do_sample\": true,\n \"temperature\": ", "line 2: not valid JSON");
    }

    // ------------------------------------------------------------------ model.safetensors (info, score, generate)

    const string Norm = "model.norm.weight";

    static MalformedCase Safetensors(string name, Action<string> corrupt, Func<Workspace, string[]> command, params string[] expected) => new(
        $"model.safetensors: {name}",
        ws =>
        {
            ws.Copy(PristineInputs.Qwen2, "model");
            corrupt(ws["model/model.safetensors"]);
        },
        command,
        ws => [ws["model/model.safetensors"], .. expected]);

    static Action<string> Entry(string tensor, string field, string literal) => path => EditHeader(path, h => h[tensor]![field] = Json(literal));

    static IEnumerable<MalformedCase> SafetensorsFiles()
    {
        yield return Safetensors("header length beyond the file", p => SetHeaderLength(p, 10_000_000), Info,
            "truncated safetensors file (the header length says 10000000 bytes of header");
        yield return Safetensors("header length 0", p => SetHeaderLength(p, 0), Info, "malformed safetensors header length 0");
        yield return Safetensors("header length 2^63", p => SetHeaderLength(p, 1UL << 63), Score, "malformed safetensors header length 9223372036854775808");
        yield return Safetensors("4 bytes long", p => Truncate(p, 4), Info, "truncated safetensors file (4 bytes");
        yield return Safetensors("empty", p => Truncate(p, 0), Generate, "truncated safetensors file (0 bytes");
        yield return Safetensors("header is not JSON", p => EditHeaderBytes(p, h => [.. "{\"model.embed"u8, .. new byte[h.Length - 13]]), Info,
            "malformed safetensors header: line 1: not valid JSON");
        yield return Safetensors("header is a JSON list", p => EditHeaderBytes(p, _ => "[1, 2, 3]"u8.ToArray()), Info,
            "malformed safetensors header (expected a JSON object starting with '{'");
        yield return Safetensors("header is not UTF-8", p => ReplaceBytes(p, "model.norm.weight", [.. "model.n"u8, 0xFF, .. "rm.weight"u8]), Info,
            "malformed safetensors header: line 1: byte", "is not valid UTF-8");
        yield return Safetensors("tensor name twice", p => EditHeaderBytes(p, h =>
            {
                var entry = JsonNode.Parse(h)![Norm]!.ToJsonString();
                return [.. "{"u8, .. Encoding.UTF8.GetBytes($"\"{Norm}\":{entry},"), .. h[1..]];
            }), Info, $"key '{Norm}' appears twice");
        yield return Safetensors("entry null", p => EditHeader(p, h => h[Norm] = null), Info,
            $"tensor '{Norm}': expected an object {{dtype, shape, data_offsets}}, got null");
        yield return Safetensors("entry a number", p => EditHeader(p, h => h[Norm] = 5), Info, $"tensor '{Norm}': expected an object");
        yield return Safetensors("dtype null", Entry(Norm, "dtype", "null"), Info, $"tensor '{Norm}': field 'dtype': expected one of F32");
        yield return Safetensors("dtype 5", Entry(Norm, "dtype", "5"), Score, $"tensor '{Norm}': field 'dtype': expected one of", "got the number 5");
        yield return Safetensors("dtype F128", Entry(Norm, "dtype", "\"F128\""), Info, $"tensor '{Norm}': field 'dtype': unsupported dtype 'F128'");
        yield return Safetensors("shape null", Entry(Norm, "shape", "null"), Info, $"tensor '{Norm}': field 'shape': expected a list of dimensions");
        yield return Safetensors("shape null (generate)", Entry(Norm, "shape", "null"), Generate, $"tensor '{Norm}': field 'shape'");
        yield return Safetensors("shape [null]", Entry(Norm, "shape", "[null]"), Info, $"tensor '{Norm}': field 'shape[0]': expected a dimension (an integer ≥ 0), got null");
        yield return Safetensors("shape [-64]", Entry(Norm, "shape", "[-64]"), Info, $"tensor '{Norm}': field 'shape[0]': expected a dimension");
        yield return Safetensors("shape [\"64\"]", Entry(Norm, "shape", "[\"64\"]"), Info, $"tensor '{Norm}': field 'shape[0]'", "got the string \"64\"");
        yield return Safetensors("shape [8.5, 8]", Entry(Norm, "shape", "[8.5, 8]"), Info, $"tensor '{Norm}': field 'shape[0]'", "got the number 8.5");
        yield return Safetensors("shape overflowing", Entry(Norm, "shape", "[1099511627776, 1099511627776]"), Info, $"tensor '{Norm}': field 'shape': [1099511627776, 1099511627776] is too large");
        yield return Safetensors("data_offsets null", Entry(Norm, "data_offsets", "null"), Info, $"tensor '{Norm}': field 'data_offsets': expected [begin, end]");
        yield return Safetensors("data_offsets [null, 256]", Entry(Norm, "data_offsets", "[null, 256]"), Info, $"tensor '{Norm}': field 'data_offsets[0]': expected a byte offset");
        yield return Safetensors("data_offsets one number", Entry(Norm, "data_offsets", "[0]"), Info, $"tensor '{Norm}': field 'data_offsets': expected [begin, end]");
        yield return Safetensors("data_offsets end before begin", Entry(Norm, "data_offsets", "[512, 256]"), Info,
            $"tensor '{Norm}': field 'data_offsets': [512, 256] ends before it begins");
        yield return Safetensors("data_offsets beyond the file", Entry(Norm, "data_offsets", "[452864, 453120]"), Info,
            $"tensor '{Norm}': field 'data_offsets': data ends at byte 453120 but the file holds 452864 bytes of data");
        yield return Safetensors("data cut short", p => Truncate(p, -1000), Score, "but the file holds", "truncated file?");
        yield return Safetensors("two tensors on the same bytes", p => EditHeader(p, h => h[Norm]!["data_offsets"] = Json("[81920, 82176]")), Info,
            "'model.layers.0.input_layernorm.weight' (bytes 81920-82176)", $"and '{Norm}' (bytes 81920-82176) overlap");
        yield return Safetensors("shape does not match the byte length", Entry(Norm, "shape", "[65]"), Info,
            $"tensor '{Norm}': field 'data_offsets':", "holds 256 bytes, but shape [65] F32 needs 260");
        yield return Safetensors("dtype does not match the byte length", Entry(Norm, "dtype", "\"F16\""), Score,
            $"tensor '{Norm}': field 'data_offsets':", "holds 256 bytes, but shape [64] F16 needs 128");
        yield return Safetensors("integer weights", Entry(Norm, "dtype", "\"I32\""), Score, $"tensor '{Norm}' has dtype I32, expected a floating-point type");
        yield return new MalformedCase("model.safetensors: embedding transposed",
            ws =>
            {
                ws.Copy(PristineInputs.Qwen2, "model");
                EditHeader(ws["model/model.safetensors"], h => h["model.embed_tokens.weight"]!["shape"] = Json("[64, 320]"));
            },
            Info,
            ws => [$"{ws["model/model.safetensors"]}: tensor 'model.embed_tokens.weight' has shape [64, 320], the config implies [320, 64] " +
                   $"({ws["model/config.json"]}: vocab_size 320, hidden_size 64)"]);
        yield return Safetensors("a weight missing", p => EditHeader(p, h => h.Remove(Norm)), Score, $"missing tensor(s) '{Norm}'");
        yield return Safetensors("an extra tensor", p => EditHeader(p,
                h => h["model.layers.0.extra.weight"] = Json("{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [452864, 452872]}"),
                data => [.. data, .. new byte[8]]),
            Generate, "unexpected tensor(s) 'model.layers.0.extra.weight'");
        yield return Safetensors("__metadata__ a list", p => EditHeader(p, h => h["__metadata__"] = Json("[\"pt\"]")), Info,
            "header field '__metadata__': expected an object of strings, got the list");
        yield return Safetensors("__metadata__ value a number", p => EditHeader(p, h => h["__metadata__"] = Json("{\"format\": 5}")), Info,
            "header field '__metadata__.format': expected a string, got the number 5");
        yield return Safetensors("garbage after the header object", p => EditHeaderBytes(p, h => [.. h, .. "xyz"u8]), Info,
            "malformed safetensors header: line 1: not valid JSON");
        yield return Safetensors("bytes after the last tensor", p => EditHeader(p, _ => { }, data => [.. data, .. new byte[16]]), Info,
            "16 bytes after the last tensor");
        yield return Safetensors("bytes after the last tensor (generate)", p => EditHeader(p, _ => { }, data => [.. data, .. new byte[16]]), Generate,
            "16 bytes after the last tensor");
        yield return new MalformedCase("model.safetensors: missing",
            ws =>
            {
                ws.Copy(PristineInputs.Qwen2, "model");
                File.Delete(ws["model/model.safetensors"]);
            },
            Score, ws => [ws["model"], "neither model.safetensors nor model.safetensors.index.json found"]);
    }

    // ------------------------------------------------------------------ sharded checkpoints: model.safetensors.index.json

    const string Shard1 = "model-00001-of-00002.safetensors", Shard2 = "model-00002-of-00002.safetensors";

    static MalformedCase Sharded(string name, Action<Workspace> corrupt, Func<Workspace, string[]> file, params string[] expected) => new(
        $"sharded: {name}",
        ws =>
        {
            ws.Copy(PristineInputs.Llama3, "model");
            corrupt(ws);
        },
        Info,
        ws => [.. file(ws), .. expected]);

    static string[] Index(Workspace ws) => [ws["model/model.safetensors.index.json"]];

    // ------------------------------------------------------------------ PEFT LoRA adapters (generate --adapter, merge --adapter)

    static string[] WithAdapter(Workspace ws) => ["generate", "--model", ws["model"], "--adapter", ws["adapter"], "--ids", "1,2,3", "-n", "2"];
    static string[] Merge(Workspace ws) => ["merge", "--model", ws["model"], "--adapter", ws["adapter"], "--output", ws["merged"]];

    /// <summary>The qwen2-tiny-qv PEFT adapter (tests/fixtures/lora) beside the qwen2-tiny model, with one corruption.</summary>
    static MalformedCase Adapter(string name, string file, Action<string> corrupt, Func<Workspace, string[]> command, params string[] expected) => new(
        $"{file}: {name}",
        ws =>
        {
            ws.Copy(PristineInputs.Qwen2, "model");
            ws.Copy(PristineInputs.Adapter, "adapter");
            corrupt(ws[$"adapter/{file}"]);
        },
        command,
        ws => [ws[$"adapter/{file}"], .. expected]) { MustNotExist = ws => [ws["merged"]] };

    static IEnumerable<MalformedCase> AdapterFiles()
    {
        const string config = "adapter_config.json", weights = "adapter_model.safetensors";
        const string qA = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", qB = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
        yield return Adapter("not JSON", config, p => Truncate(p, 40), WithAdapter, "not valid JSON");
        yield return Adapter("r a string", config, p => EditJson(p, Field("r", "\"4\"")), WithAdapter, "field 'r'", "got the string \"4\"");
        yield return Adapter("r 8 (the tensors hold 4)", config, p => EditJson(p, Field("r", "8")), Merge, "adapter_model.safetensors: tensor", "expected [8, 64] (r = 8 from");
        yield return Adapter("peft_type IA3", config, p => EditJson(p, Field("peft_type", "\"IA3\"")), WithAdapter, "field 'peft_type'", "IA3");
        yield return Adapter("target_modules a number", config, p => EditJson(p, Field("target_modules", "5")), WithAdapter, "field 'target_modules'", "got the number 5");
        yield return Adapter("target_modules names nothing here", config, p => EditJson(p, Field("target_modules", "[\"c_attn\"]")), Merge, "field 'target_modules'", "c_attn");
        yield return Adapter("use_dora true", config, p => EditJson(p, Field("use_dora", "true")), WithAdapter, "field 'use_dora'", "DoRA");
        yield return Adapter("rank_pattern", config, p => EditJson(p, Field("rank_pattern", "{\"q_proj\": 8}")), Merge, "field 'rank_pattern'");
        yield return Adapter("lora_dropout 1", config, p => EditJson(p, Field("lora_dropout", "1")), WithAdapter, "field 'lora_dropout'", "[0, 1)");
        yield return Adapter("truncated", weights, p => Truncate(p, -100), WithAdapter, "truncated file?");
        yield return Adapter("bytes appended", weights, p => EditBytes(p, b => [.. b, .. new byte[16]]), Merge, "16 bytes after the last tensor");
        yield return Adapter("lora_B transposed", weights, p => EditHeader(p, h => h[qB]!["shape"] = Json("[4, 64]")), WithAdapter,
            $"tensor '{qB}' has shape [4, 64], expected [64, 4]");
        yield return Adapter("lora_A as I32", weights, p => EditHeader(p, h => h[qA]!["dtype"] = "I32"), Merge, $"tensor '{qA}' has dtype I32");
        yield return Adapter("a tensor for an untargeted layer", weights, p => EditHeader(p,
                h => h["base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight"] = Json("{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [7168, 7172]}"),
                data => [.. data, .. new byte[4]]),
            WithAdapter, "unexpected tensor 'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight'");
        yield return Adapter("keys with the adapter name", weights, p => EditHeaderBytes(p, h => Encoding.UTF8.GetBytes(
                Encoding.UTF8.GetString(h).Replace(".lora_A.weight", ".lora_A.default.weight").Replace(".lora_B.weight", ".lora_B.default.weight"))),
            WithAdapter, "without the adapter name 'default'");
        yield return new MalformedCase("adapter_model.safetensors: only adapter_model.bin",
            ws =>
            {
                ws.Copy(PristineInputs.Qwen2, "model");
                ws.Copy(PristineInputs.Adapter, "adapter");
                File.Move(ws["adapter/adapter_model.safetensors"], ws["adapter/adapter_model.bin"]);
            },
            Merge, ws => [ws["adapter"], "only adapter_model.bin found"]) { MustNotExist = ws => [ws["merged"]] };
        yield return Adapter("a folder", config, p => { File.Delete(p); Directory.CreateDirectory(p); }, WithAdapter, "is a folder");
    }

    static IEnumerable<MalformedCase> ShardIndex()
    {
        yield return Sharded("index not JSON", ws => Truncate(ws["model/model.safetensors.index.json"], 60), Index, "not valid JSON");
        yield return Sharded("weight_map missing", ws => EditJson(ws["model/model.safetensors.index.json"], Field("weight_map", null)), Index,
            "field 'weight_map': expected an object {tensor name: shard file}, got null");
        yield return Sharded("weight_map entry null",
            ws => EditJson(ws["model/model.safetensors.index.json"], o => o["weight_map"]!["model.norm.weight"] = null), Index,
            "field 'weight_map.model.norm.weight': expected a shard file name, got null");
        yield return Sharded("weight_map entry outside the folder",
            ws => EditJson(ws["model/model.safetensors.index.json"], o => o["weight_map"]!["model.norm.weight"] = "../" + Shard2), Index,
            $"field 'weight_map.model.norm.weight': '../{Shard2}' is not a file name in the checkpoint folder");
        yield return Sharded("a shard missing", ws => File.Delete(ws[$"model/{Shard2}"]), Index, $"shard {Shard2} is missing");
        yield return Sharded("tensor listed in the wrong shard",
            ws => EditJson(ws["model/model.safetensors.index.json"], o =>
            {
                var map = o["weight_map"]!.AsObject();
                var name = map.First(kv => kv.Value!.GetValue<string>() == Shard2).Key;
                map[name] = Shard1;
            }), Index, $"in {Shard1}, which does not hold it");
        yield return Sharded("a tensor in both shards",
            ws =>
            {
                // The first tensor of shard 1, appended (header entry and bytes) to shard 2.
                var (header1, data1) = SplitSafetensors(ws[$"model/{Shard1}"]);
                var (name, entry) = JsonNode.Parse(header1)!.AsObject().First(kv => kv.Key != "__metadata__");
                long begin = entry!["data_offsets"]![0]!.GetValue<long>(), end = entry["data_offsets"]![1]!.GetValue<long>();
                var bytes = data1[(int)begin..(int)end];
                long length2 = SplitSafetensors(ws[$"model/{Shard2}"]).Data.Length;
                EditHeader(ws[$"model/{Shard2}"], h =>
                    {
                        var copy = entry.DeepClone();
                        copy["data_offsets"] = new JsonArray(length2, length2 + bytes.Length);
                        h[name] = copy;
                    },
                    data => [.. data, .. bytes]);
            },
            ws => [ws[$"model/{Shard2}"], ws[$"model/{Shard1}"]], "also appears in");
    }

    // ------------------------------------------------------------------ tokenizer.json, tokenizer_config.json (tokenize)

    static string[] Tokenize(Workspace ws) => ["tokenize", "--tokenizer", ws["tok"], "--text", "hello world"];

    static MalformedCase Tokenizer(string name, string file, Action<string> corrupt, string expected) => new(
        $"{file}: {name}",
        ws =>
        {
            ws.Copy(PristineInputs.Tokenizer, "tok");
            corrupt(ws[$"tok/{file}"]);
        },
        Tokenize,
        ws => [ws[$"tok/{file}"], expected]);

    static MalformedCase TokenizerJson(string name, Action<JsonObject> edit, string expected) =>
        Tokenizer(name, "tokenizer.json", p => EditJson(p, edit), expected);

    static MalformedCase TokenizerConfig(string name, Action<JsonObject> edit, string expected) =>
        Tokenizer(name, "tokenizer_config.json", p => EditJson(p, edit), expected);

    static JsonObject Model(JsonObject t) => t["model"]!.AsObject();

    static IEnumerable<MalformedCase> TokenizerFiles()
    {
        yield return Tokenizer("truncated", "tokenizer.json", p => Truncate(p, 5000), ": invalid JSON: ");
        yield return Tokenizer("empty", "tokenizer.json", p => Truncate(p, 0), "line 1, byte 1: invalid JSON");
        yield return Tokenizer("a JSON list", "tokenizer.json", p => File.WriteAllText(p, "[]"), "$: expected an object, found an array");
        yield return TokenizerJson("WordPiece model", t => Model(t)["type"] = "WordPiece", "$.model.type: unsupported model type 'WordPiece'");
        yield return TokenizerJson("no model", t => t.Remove("model"), "$: missing required field 'model'");
        yield return TokenizerJson("vocab a list", t => Model(t)["vocab"] = Json("[1, 2]"), "$.model.vocab: expected an object, found an array");
        yield return TokenizerJson("vocab id a string", t => Model(t)["vocab"]!["he"] = "x", "$.model.vocab[\"he\"]: expected a non-negative token id");
        yield return TokenizerJson("vocab id negative", t => Model(t)["vocab"]!["he"] = -5, "$.model.vocab[\"he\"]: expected a non-negative token id");
        yield return TokenizerJson("vocab id 2e9", t => Model(t)["vocab"]!["he"] = 2_000_000_000, "$.model.vocab[\"he\"]: expected a non-negative token id (at most 16777215)");
        yield return TokenizerJson("merge of unknown tokens", t => Model(t)["merges"]![0] = Json("[\"zzz\", \"qqq\"]"), "$.model.merges[0]: merge token 'zzz' is not in the vocabulary");
        yield return TokenizerJson("merge a number", t => Model(t)["merges"]![0] = 5, "$.model.merges[0]: a merge must be");
        yield return TokenizerJson("merge one token", t => Model(t)["merges"]![0] = "onlyone", "$.model.merges[0]: merge \"onlyone\" is not two tokens");
        yield return TokenizerJson("merge null", t => Model(t)["merges"]![0] = null, "$.model.merges[0]: a merge must be");
        yield return TokenizerJson("added token id a string", t => t["added_tokens"]![0]!["id"] = "x", "$.added_tokens[0].id: expected a 32-bit integer");
        yield return TokenizerJson("added token id negative", t => t["added_tokens"]![0]!["id"] = -1, "$.added_tokens[0].id: expected a token id from 0 to 16777215, found -1");
        yield return TokenizerJson("added token id 2^31-1", t => t["added_tokens"]![0]!["id"] = int.MaxValue, "$.added_tokens[0].id: expected a token id from 0 to 16777215");
        yield return TokenizerJson("added token without content", t => t["added_tokens"]![0]!.AsObject().Remove("content"), "$.added_tokens[0]: missing required field 'content'");
        yield return TokenizerJson("added token null", t => t["added_tokens"]![0] = null, "$.added_tokens[0]: expected an object, found null");
        yield return TokenizerJson("unknown pre-tokenizer", t => t["pre_tokenizer"] = Json("{\"type\": \"Nope\"}"), "$.pre_tokenizer.type: unsupported pre-tokenizer type 'Nope'");
        yield return TokenizerJson("pre-tokenizer a number", t => t["pre_tokenizer"] = 5, "$.pre_tokenizer: expected an object, found a number");
        yield return TokenizerJson("unknown normalizer", t => t["normalizer"] = Json("{\"type\": \"Nope\"}"), "$.normalizer.type: unsupported normalizer type 'Nope'");
        yield return TokenizerJson("unknown decoder", t => t["decoder"] = Json("{\"type\": \"Nope\"}"), "$.decoder.type: unsupported decoder type 'Nope'");
        yield return Tokenizer("truncated", "tokenizer_config.json", p => File.WriteAllText(p, "{\"eos_token\": "), "line 1, byte 15: invalid JSON");
        yield return Tokenizer("a JSON list", "tokenizer_config.json", p => File.WriteAllText(p, "[1]"), "$: expected an object, found an array");
        yield return TokenizerConfig("eos_token a number", Field("eos_token", "5"), "$.eos_token: expected a string, null or an object with 'content'");
        yield return TokenizerConfig("eos_token content a number", Field("eos_token", "{\"content\": 5}"), "$.eos_token.content: expected a string, found a number");
        yield return TokenizerConfig("added_tokens_decoder key not an id", c => c["added_tokens_decoder"]!["x"] = Json("{\"content\": \"a\"}"),
            "$.added_tokens_decoder[\"x\"]: 'x' is not a token id");
        yield return TokenizerConfig("added_tokens_decoder id 2e9", c => c["added_tokens_decoder"]!["2000000000"] = Json("{\"content\": \"a\"}"),
            "$.added_tokens_decoder[\"2000000000\"]: '2000000000' is not a token id (an integer from 0 to 16777215)");
        yield return TokenizerConfig("added_tokens_decoder entry a number", c => c["added_tokens_decoder"]!["5"] = 7, "$.added_tokens_decoder[\"5\"]: expected an object, found a number");
        yield return TokenizerConfig("chat_template a number", Field("chat_template", "5"), "$.chat_template: expected a string or a list of {name, template}");
        yield return TokenizerConfig("add_bos_token \"yes\"", Field("add_bos_token", "\"yes\""), "$.add_bos_token: expected a boolean, found a string");
        yield return TokenizerConfig("model_max_length a string", Field("model_max_length", "\"big\""), "$.model_max_length: expected a number");
        yield return new MalformedCase("tokenizer.json.gz: not gzip",
            ws =>
            {
                ws.Copy(PristineInputs.Tokenizer, "tok");
                File.Delete(ws["tok/tokenizer.json"]);
                File.WriteAllText(ws["tok/tokenizer.json.gz"], "{\"not\": \"compressed\"}");
            },
            Tokenize, ws => [ws["tok/tokenizer.json.gz"], "$: not a readable gzip file"]);
        yield return new MalformedCase("--tokenizer: no tokenizer.json",
            ws => Directory.CreateDirectory(ws["tok"]), Tokenize, ws => [ws["tok"], "no tokenizer.json or tokenizer.json.gz in this directory"]);
        yield return new MalformedCase("--input: a bad row",
            ws =>
            {
                ws.Copy(PristineInputs.Tokenizer, "tok");
                File.WriteAllText(ws["in.jsonl"], "{\"text\": \"fine\"}\n{\"text\": 5}\n");
            },
            ws => ["tokenize", "--tokenizer", ws["tok"], "--input", ws["in.jsonl"], "--output", ws["out.jsonl"]],
            ws => [ws["in.jsonl"] + ":2", "field 'text' is missing or not a string"]) { MustNotExist = ws => [ws["out.jsonl"]] };
        foreach (var (name, bytes, line, expected) in new (string, byte[], int, string)[]
        {
            ("not UTF-8", [.. "{\"text\": \"fine\"}\n{\"text\": \"caf"u8, 0xE9, .. "\"}\n"u8], 2, "not valid UTF-8 (byte 0xE9"),
            ("a key twice", "{\"text\": \"a\", \"text\": \"b\"}\n"u8.ToArray(), 1, "not valid JSON"),
            ("a blank line between rows", "{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n"u8.ToArray(), 2, "empty line"),
        })
            yield return new MalformedCase($"--input: {name}",
                ws =>
                {
                    ws.Copy(PristineInputs.Tokenizer, "tok");
                    File.WriteAllBytes(ws["in.jsonl"], bytes);
                },
                ws => ["tokenize", "--tokenizer", ws["tok"], "--input", ws["in.jsonl"], "--output", ws["out.jsonl"]],
                ws => [$"{ws["in.jsonl"]}:{line}", expected]) { MustNotExist = ws => [ws["out.jsonl"]] };
        foreach (var (name, bytes, line, expected) in new (string, byte[], int, string)[]
        {
            ("not JSON", "{\"text\": \"fine\"}\n{bad\n"u8.ToArray(), 2, "not valid JSON"),
            ("text a number", "{\"text\": \"fine\"}\n{\"text\": 5}\n"u8.ToArray(), 2, "field 'text': expected a string, got a number"),
            ("not UTF-8", [.. "{\"text\": \"caf"u8, 0xE9, .. "\"}\n"u8], 1, "not valid UTF-8"),
            ("a key twice", "{\"text\": \"a\", \"text\": \"b\"}\n"u8.ToArray(), 1, "not valid JSON"),
        })
            yield return new MalformedCase($"tokenizer train --input: {name}",
                ws => File.WriteAllBytes(ws["corpus.jsonl"], bytes),
                ws => ["tokenizer", "train", "--input", ws["corpus.jsonl"], "--output", ws["tok-out"], "--vocab-size", "300"],
                ws => [$"{ws["corpus.jsonl"]}:{line}", expected]) { MustNotExist = ws => [ws["tok-out"]] };
        yield return new MalformedCase("--input: a folder",
            ws => ws.Copy(PristineInputs.Tokenizer, "tok"),
            ws => ["tokenize", "--tokenizer", ws["tok"], "--input", ws["tok"]], ws => ["--input", ws["tok"], "is a folder"]);
        yield return new MalformedCase("--input: no such file",
            ws => ws.Copy(PristineInputs.Tokenizer, "tok"),
            ws => ["tokenize", "--tokenizer", ws["tok"], "--input", ws["none.jsonl"]], ws => ["--input", ws["none.jsonl"], "no such file"]);
        yield return new MalformedCase("--output: a folder",
            ws => ws.Copy(PristineInputs.Tokenizer, "tok"),
            ws => ["tokenize", "--tokenizer", ws["tok"], "--text", "hi", "--output", ws["tok"]], ws => ["--output", ws["tok"], "is a folder"]);
    }

    // ------------------------------------------------------------------ YAML configs (grpo/sft/pretrain --config): fail before training

    static MalformedCase Yaml(string name, string yaml, string line, string expected, string command = "grpo") => new(
        $"--config ({command}): {name}",
        ws => File.WriteAllText(ws["bad.yaml"], yaml),
        ws => command == "pretrain"
            ? ["pretrain", "--output", ws["out"], "--config", ws["bad.yaml"]]
            : [command, "--model", PristineInputs.TextModel, "--output", ws["out"], "--config", ws["bad.yaml"]],
        ws => [$"{ws["bad.yaml"]}: {line}", expected]) { MustNotExist = ws => [ws["out"]] };

    static IEnumerable<MalformedCase> YamlConfigs()
    {
        yield return Yaml("unclosed [", "steps: 3\nrewards: [accuracy, format\nseed: 1\n", "line 2", "not valid YAML: the YAML breaks off after line 2 (an unclosed '[', '{' or quote?)");
        yield return Yaml("unclosed [ at the end", "steps: 3\nrewards: [accuracy, format\n", "line ", "not valid YAML: While parsing a flow sequence");
        yield return Yaml("unclosed [ (sft)", "epochs: 1\nlearning_rate: [1e-5\n", "line ", "not valid YAML", "sft");
        yield return Yaml("unclosed [ (pretrain)", "steps: [1\n", "line ", "not valid YAML", "pretrain");
        yield return Yaml("unclosed {", "rewards: [{name: accuracy\n", "line ", "not valid YAML: While parsing a flow mapping");
        yield return Yaml("unterminated quote", "task: \"arithmetic\nsteps: 3\n", "line ", "not valid YAML: While scanning a multi-line double-quoted scalar");
        yield return Yaml("a key twice", "steps: 3\nsteps: 4\n", "line 2", "not valid YAML: Duplicate key steps");
        yield return Yaml("key: value: value", "steps: 3: 4\n", "line 1", "not valid YAML");
        yield return Yaml("undefined alias", "steps: *three\n", "line 1", "not valid YAML: The anchor 'three' does not exists");
        yield return Yaml("a list at the top", "- steps: 3\n", "line 1", "the file must be a mapping of fields");
        yield return Yaml("unknown field", "stpes: 3\n", "line 1", "grpo.stpes: unknown field 'stpes' (did you mean steps?)");
        yield return Yaml("steps not a number", "seed: 1\nsteps: many\n", "line 2", "grpo.steps: 'many' is not an integer");
        yield return Yaml("steps 0", "steps: 0\n", "line 1", "grpo.steps:");
        yield return Yaml("learning_rate a list", "learning_rate: [1]\n", "line 1", "grpo.learning_rate: expected a number");
        yield return Yaml("loss_type unknown", "loss_type: dapo2\n", "line 1", "grpo.loss_type: 'dapo2' is not one of");
        yield return Yaml("reward weight a string", "rewards:\n  - name: accuracy\n    weight: heavy\n", "line 3", "grpo.rewards[0].weight: 'heavy' is not a number");
        yield return Yaml("two documents", "steps: 3\n---\nsteps: 4\n", "line 3", "not valid YAML: the file holds 2 YAML documents");
        yield return Yaml("binary garbage", "\u0001\u0002steps: [\u0003\n", "line ", "not valid YAML");
        yield return new MalformedCase("--config: no such file",
            _ => { }, ws => ["grpo", "--model", PristineInputs.TextModel, "--output", ws["out"], "--config", ws["none.yaml"]],
            ws => [ws["none.yaml"], "config file not found"]) { MustNotExist = ws => [ws["out"]] };
        yield return new MalformedCase("--set: unclosed [",
            _ => { }, ws => ["grpo", "--model", PristineInputs.TextModel, "--output", ws["out"], "--set", "rewards=[accuracy"],
            _ => ["--set: grpo.rewards: the value is not valid YAML"]) { MustNotExist = ws => [ws["out"]] };
        yield return new MalformedCase("--set: no =",
            _ => { }, ws => ["grpo", "--model", PristineInputs.TextModel, "--output", ws["out"], "--set", "steps"],
            _ => ["--set: 'steps' is not path=value"]) { MustNotExist = ws => [ws["out"]] };
        yield return new MalformedCase("--config: unknown reward name",
            ws => File.WriteAllText(ws["bad.yaml"], "rewards: [accuracy, acuracy]\n"),
            ws => ["grpo", "--model", PristineInputs.TextModel, "--output", ws["out"], "--config", ws["bad.yaml"]],
            ws => [$"r1sharp grpo --config {ws["bad.yaml"]}: rewards:", "'acuracy'"]);
    }

    // ------------------------------------------------------------------ --resume: trainer_state.json, optimizer.bin, rng.bin

    static string[] Resume(Workspace ws) =>
    [
        "grpo", "--model", PristineInputs.TextModel, "--output", ws["run"], "--resume",
        "--set", "train_prompts=4", "--set", "eval_prompts=1", "--set", "eval_samples=1", "--set", "sampling.max_new_tokens=4", "--set", "eval_sampling.max_new_tokens=4",
        "--set", "steps=2", "--set", "prompts_per_step=1", "--set", "generations=2", "--set", "micro_batch_size=2",
    ];

    static MalformedCase Resume(string name, string file, Action<string> corrupt, params string[] expected) => new(
        $"--resume {file}: {name}",
        ws =>
        {
            ws.Copy(PristineInputs.ResumeRun, "run");
            corrupt(ws[$"run/checkpoint/{file}"]);
        },
        Resume,
        ws => [ws[$"run/checkpoint/{file}"], .. expected]);

    static Action<string> State(string json) => p => File.WriteAllText(p, json);

    static IEnumerable<MalformedCase> ResumeFiles()
    {
        const string state = "trainer_state.json", optimizer = "optimizer.bin", rng = "rng.bin";
        yield return Resume("truncated", state, State("{\n  \"step\": 1,\n  \"data_posi"), "line 3: not valid JSON");
        yield return Resume("empty", state, State(""), "empty file, expected a trainer state");
        yield return Resume("a JSON list", state, State("[1]"), "expected a trainer state (trainer_state.json) (a JSON object {…}), got the list [1]");
        yield return Resume("step a string", state, State("{\"step\": \"1\", \"data_position\": 2}"), "field 'step': expected the number of optimiser steps done (an integer ≥ 0), got the string \"1\"");
        yield return Resume("step -1", state, State("{\"step\": -1, \"data_position\": 2}"), "field 'step': expected the number of optimiser steps done");
        yield return Resume("step missing", state, State("{\"data_position\": 2}"), "field 'step' is missing");
        yield return Resume("data_position 1.5", state, State("{\"step\": 1, \"data_position\": 1.5}"), "field 'data_position': expected the number of examples consumed (an integer ≥ 0), got the number 1.5");
        yield return Resume("extra a list", state, State("{\"step\": 1, \"data_position\": 2, \"extra\": [1]}"), "field 'extra': expected an object of numbers");
        yield return Resume("extra value a string", state, State("{\"step\": 1, \"data_position\": 2, \"extra\": {\"ref_reset_step\": \"x\"}}"),
            "field 'extra.ref_reset_step': expected a finite number");
        yield return Resume("a key twice", state, State("{\"step\": 1, \"step\": 2, \"data_position\": 2}"), "key 'step' appears twice");
        yield return Resume("truncated to half", optimizer, p => Truncate(p, new FileInfo(p).Length / 2),
            "not the AdamW state of this model's", "the file ends at byte", "before the state does (truncated?)");
        yield return Resume("empty", optimizer, p => Truncate(p, 0), "not the AdamW state of this model's", "(truncated?)");
        yield return Resume("bytes after the state", optimizer, p => EditBytes(p, b => [.. b, 1, 2, 3]), "3 unexpected bytes after the optimiser state");
        yield return Resume("another optimizer's name", optimizer, p => ReplaceBytes(p, "AdamW", "AdamX"u8.ToArray()),
            "not the AdamW state of this model's", "Mismatched optimizer type");
        yield return Resume("another model's state", optimizer, p => File.Copy(PristineInputs.OtherOptimizer, p, overwrite: true),
            "not the AdamW state of this model's", "different number of");
        yield return Resume("NaN moments", optimizer, p => EditBytes(p, b =>
            {
                for (int i = b.Length - 1 - 64; i < b.Length - 1; i++) b[i] = 0xFF; // the end of the last second moment, before the amsgrad flag
                return b;
            }), "the AdamW moments are not finite");
        yield return Resume("missing", optimizer, File.Delete, "missing (a training checkpoint holds the optimizer state here");
        yield return Resume("a folder", optimizer, p =>
            {
                File.Delete(p);
                Directory.CreateDirectory(p);
            }, "is a folder, expected the optimizer state file");
        yield return Resume("truncated to half", rng, p => Truncate(p, new FileInfo(p).Length / 2), "truncated: torch's generator's state needs");
        yield return Resume("empty", rng, p => Truncate(p, 0), "truncated at byte 0 (expected the length of torch's generator's state at byte 0)");
        yield return Resume("wrong state length", rng, p => EditBytes(p, b =>
            {
                BitConverter.GetBytes(100).CopyTo(b, 0);
                return b;
            }), "byte 0: torch's generator's state is 100 bytes long, expected");
        yield return Resume("negative state length", rng, p => EditBytes(p, b =>
            {
                BitConverter.GetBytes(-7).CopyTo(b, 0);
                return b;
            }), "byte 0: torch's generator's state is -7 bytes long");
        yield return Resume("flag byte 7", rng, p => EditBytes(p, b =>
            {
                b[^1] = 7;
                return b;
            }), ": expected 0 or 1 (is a sampling generator state stored?), got 7");
        yield return Resume("flag set, no sampling state", rng, p => EditBytes(p, b =>
            {
                b[^1] = 1;
                return b;
            }), "truncated at byte", "expected the length of the sampling generator's state");
        yield return Resume("flag missing", rng, p => Truncate(p, -1), "expected a flag for the sampling generator's state");
        yield return Resume("bytes after the states", rng, p => EditBytes(p, b => [.. b, 0, 0]), "2 unexpected bytes after the generator states");
        yield return Resume("missing", rng, File.Delete, "missing (a training checkpoint holds the random-generator state here");
        yield return Resume("hidden_size -1", "config.json", p => EditJson(p, Field("hidden_size", "-1")), "field 'hidden_size': expected an integer ≥ 1");
        yield return Resume("cut short", "model.safetensors", p => Truncate(p, -100), "truncated file?");
    }

    // ------------------------------------------------------------------ command-line values

    static MalformedCase Flag(string name, Func<Workspace, string[]> args, params string[] expected) => new(
        $"flag: {name}",
        ws => ws.Copy(PristineInputs.Qwen2, "model"),
        args,
        _ => expected);

    static Func<Workspace, string[]> GenerateWith(params string[] flags) => ws => ["generate", "--model", ws["model"], "--ids", "1,2,3", .. flags];

    static IEnumerable<MalformedCase> CommandLineValues()
    {
        yield return Flag("--temperature nan", GenerateWith("--temperature", "nan"), "--temperature: expected a number ≥ 0 (0 is greedy), got NaN");
        yield return Flag("--temperature -1", GenerateWith("--temperature", "-1"), "--temperature: expected a number ≥ 0");
        yield return Flag("--temperature Infinity", GenerateWith("--temperature", "Infinity"), "--temperature: expected a number ≥ 0 (0 is greedy), got");
        yield return Flag("--top-p 2", GenerateWith("--top-p", "2"), "--top-p: expected a number in (0, 1], got 2");
        yield return Flag("--top-p 0", GenerateWith("--top-p", "0"), "--top-p: expected a number in (0, 1], got 0");
        yield return Flag("--top-p nan", GenerateWith("--top-p", "nan"), "--top-p: expected a number in (0, 1], got NaN");
        yield return Flag("--min-p 1.5", GenerateWith("--min-p", "1.5"), "--min-p: expected a number in [0, 1], got 1.5");
        yield return Flag("--top-k -1", GenerateWith("--top-k", "-1"), "--top-k: expected an integer ≥ 0 (0 = off), got -1");
        yield return Flag("--max-new-tokens -1", GenerateWith("--max-new-tokens", "-1"), "--max-new-tokens: expected an integer ≥ 1, got -1");
        yield return Flag("--max-new-tokens 0", GenerateWith("--max-new-tokens", "0"), "--max-new-tokens: expected an integer ≥ 1, got 0");
        yield return Flag("--max-new-tokens abc", GenerateWith("--max-new-tokens", "abc"), "r1sharp generate: Cannot parse argument 'abc' for option '--max-new-tokens'");
        yield return Flag("--stop empty", GenerateWith("--stop", ""), "--stop: expected a non-empty string");
        yield return Flag("--dtype int8", GenerateWith("--dtype", "int8"), "--dtype: unknown dtype 'int8' (float32, bfloat16, float16)");
        yield return Flag("--device tpu", GenerateWith("--device", "tpu"), "--device: device 'tpu' is not cpu, cuda or cuda:N");
        yield return Flag("--ids 1,x", ws => ["generate", "--model", ws["model"], "--ids", "1,x"], "--ids: 'x' is not a token id");
        yield return Flag("--ids outside the vocabulary", ws => ["score", "--model", ws["model"], "--ids", "1,320"], "--ids: token id 320 is outside the vocabulary (size 320)");
        yield return Flag("--ids -1", ws => ["score", "--model", ws["model"], "--ids", "-1,2"], "--ids: '-1' is not a token id");
        yield return Flag("--ids empty", ws => ["score", "--model", ws["model"], "--ids", ","], "--ids: no token ids given");
        yield return Flag("score --dtype fp8", ws => ["score", "--model", ws["model"], "--ids", "1,2", "--dtype", "fp8"], "--dtype: unknown dtype 'fp8'");
        yield return Flag("info: unknown option", ws => ["info", "--model", ws["model"], "--bogus"], "r1sharp info: Unrecognized command or argument '--bogus'");
        yield return Flag("grpo --threads 0", ws => ["grpo", "--model", ws["model"], "--output", ws["out"], "--threads", "0"], "--threads must be at least 1, got 0");
        yield return Flag("grpo --threads -4", ws => ["grpo", "--model", ws["model"], "--output", ws["out"], "--threads", "-4"], "--threads must be at least 1, got -4");
        yield return Flag("pretrain --threads 0", ws => ["pretrain", "--output", ws["out"], "--threads", "0"], "--threads must be at least 1, got 0");
        // The commands that run a model without training it take --threads too.
        yield return Flag("generate --threads 0", GenerateWith("--threads", "0"), "--threads must be at least 1, got 0");
        yield return Flag("score --threads 0", ws => ["score", "--model", ws["model"], "--ids", "1,2", "--threads", "0"], "--threads must be at least 1, got 0");
        yield return Flag("eval --threads 0", ws => ["eval", "--model", ws["model"], "-b", "countdown", "--threads", "0"], "--threads must be at least 1, got 0");
        yield return Flag("serve --threads -1", ws => ["serve", "--model", ws["model"], "--port", "0", "--threads", "-1"], "--threads must be at least 1, got -1");
    }
}
