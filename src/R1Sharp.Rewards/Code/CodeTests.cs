using System.Text.Json;

namespace R1Sharp.Rewards.Code;

/// <summary>One test of a program.</summary>
public abstract record CodeTestCase;

/// <summary>Feed <paramref name="Input"/> on stdin; the test passes when the program exits with code 0 and its
/// stdout matches <paramref name="ExpectedOutput"/> (see <see cref="OutputComparer"/>).</summary>
public sealed record StdioTestCase(string Input, string ExpectedOutput) : CodeTestCase;

/// <summary>Append <paramref name="Code"/> (e.g. <c>assert add(2, 3) == 5</c>) to the program and run it with empty
/// stdin; the test passes when it exits with code 0 and prints the pass marker appended after the snippet
/// (<see cref="CodeLanguage.AppendTest"/>).</summary>
public sealed record AssertTestCase(string Code) : CodeTestCase;

/// <summary>Raised by <see cref="CodeTests.Parse"/> for a malformed test description; the message names the field
/// (a JSON path) or the line and byte of a JSON syntax error.</summary>
public sealed class CodeTestsFormatException(string message, Exception? inner = null) : FormatException(message, inner);

/// <summary>
/// The tests of one coding problem, parsed from a JSON reference field (by default <c>tests</c>). Accepted shapes:
/// <code>
/// [ {"input": "1 2\n", "output": "3\n"}, ... ]                       stdin/stdout cases ("input" optional)
/// [ "assert add(1, 2) == 3", {"assert": "assert add(0, 0) == 0"} ]    assert-style snippets appended to the program
/// {"language": "python", "test_cases": [ {"input": "..", "output": "..", "type": "stdin_stdout"} ]}
///                                                                      open-r1 / verifiable-coding-problems verification_info
/// {"inputs": ["1 2\n", ...], "outputs": ["3\n", ...]}                  APPS / TACO input_output (stdin problems)
/// {"asserts": ["assert ..."], "setup": "import math"}                  MBPP-style ("test_list" and "test_setup_code" also read)
/// </code>
/// An object may combine these keys; unknown keys are ignored. An "output" may be a string, a number, or an array
/// of lines. The case "type" must be <c>stdin_stdout</c> or <c>assert</c> when given (APPS' <c>fn_name</c> call-based
/// problems are rejected with a clear error rather than mis-scored).
/// </summary>
public sealed record CodeTests(string? Language, IReadOnlyList<CodeTestCase> Cases)
{
    /// <summary>Parses <paramref name="json"/>; <paramref name="source"/> names where it came from in errors
    /// (e.g. <c>data/train.jsonl line 17, field tests</c>).</summary>
    /// <exception cref="CodeTestsFormatException">Invalid JSON or an unexpected shape.</exception>
    public static CodeTests Parse(string json, string source = "tests")
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new CodeTestsFormatException(
                $"{source}: invalid JSON at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}: {e.Message}", e);
        }
        using (document)
        {
            var cases = new List<CodeTestCase>();
            string? language = null;
            var root = document.RootElement;
            switch (root.ValueKind)
            {
                case JsonValueKind.Array:
                    ReadCases(root, "$", source, cases, setup: null);
                    break;
                case JsonValueKind.Object:
                    language = ReadObject(root, source, cases);
                    break;
                default:
                    throw new CodeTestsFormatException($"{source}: $ must be an array of test cases or an object, got {root.ValueKind}");
            }
            return new CodeTests(language, cases);
        }
    }

    private static string? ReadObject(JsonElement root, string source, List<CodeTestCase> cases)
    {
        string? language = OptionalString(root, "language", "$", source);
        RejectCallBased(root, "$", source);
        string? setup = OptionalString(root, "setup", "$", source) ?? OptionalString(root, "test_setup_code", "$", source);
        bool any = false;
        if (root.TryGetProperty("test_cases", out var testCases))
        {
            RequireArray(testCases, "$.test_cases", source);
            ReadCases(testCases, "$.test_cases", source, cases, setup);
            any = true;
        }
        if (root.TryGetProperty("inputs", out var inputs) | root.TryGetProperty("outputs", out var outputs))
        {
            RequireArray(inputs, "$.inputs", source);
            RequireArray(outputs, "$.outputs", source);
            int n = inputs.GetArrayLength();
            if (outputs.GetArrayLength() != n)
                throw new CodeTestsFormatException($"{source}: $.inputs has {n} items but $.outputs has {outputs.GetArrayLength()}");
            for (int i = 0; i < n; i++)
            {
                cases.Add(new StdioTestCase(
                    StringValue(inputs[i], $"$.inputs[{i}]", source),
                    OutputValue(outputs[i], $"$.outputs[{i}]", source)));
            }
            any = true;
        }
        foreach (var key in (string[])["asserts", "test_list"])
        {
            if (!root.TryGetProperty(key, out var asserts)) continue;
            RequireArray(asserts, $"$.{key}", source);
            int i = 0;
            foreach (var item in asserts.EnumerateArray())
            {
                cases.Add(Assert(StringValue(item, $"$.{key}[{i}]", source), setup));
                i++;
            }
            any = true;
        }
        if (!any)
            throw new CodeTestsFormatException($"{source}: $ has none of test_cases, inputs/outputs, asserts, test_list");
        return language;
    }

    private static void ReadCases(JsonElement array, string path, string source, List<CodeTestCase> cases, string? setup)
    {
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            string at = $"{path}[{i}]";
            if (item.ValueKind == JsonValueKind.String)
            {
                cases.Add(Assert(item.GetString()!, setup));
            }
            else if (item.ValueKind == JsonValueKind.Object)
            {
                RejectCallBased(item, at, source);
                string? type = OptionalString(item, "type", at, source);
                bool hasAssert = item.TryGetProperty("assert", out var assertCode);
                if (hasAssert || type == "assert")
                {
                    if (!hasAssert && !item.TryGetProperty("code", out assertCode))
                        throw new CodeTestsFormatException($"{source}: {at}: an assert case needs \"assert\" (or \"code\")");
                    cases.Add(Assert(StringValue(assertCode, $"{at}.{(hasAssert ? "assert" : "code")}", source), setup));
                }
                else
                {
                    if (type is not null && type != "stdin_stdout")
                        throw new CodeTestsFormatException($"{source}: {at}.type: unsupported test type '{type}' (expected stdin_stdout or assert)");
                    if (!item.TryGetProperty("output", out var output))
                        throw new CodeTestsFormatException($"{source}: {at}: a stdin/stdout case needs \"output\"");
                    string input = item.TryGetProperty("input", out var inputValue) && inputValue.ValueKind != JsonValueKind.Null
                        ? StringValue(inputValue, $"{at}.input", source)
                        : "";
                    cases.Add(new StdioTestCase(input, OutputValue(output, $"{at}.output", source)));
                }
            }
            else
            {
                throw new CodeTestsFormatException($"{source}: {at} must be an object or an assert string, got {item.ValueKind}");
            }
            i++;
        }
    }

    /// <summary>APPS-style call-based tests name a function (<c>fn_name</c>); stdin problems carry <c>fn_name: null</c>.</summary>
    private static void RejectCallBased(JsonElement obj, string path, string source)
    {
        if (obj.TryGetProperty("fn_name", out var fn) && fn.ValueKind != JsonValueKind.Null)
            throw new CodeTestsFormatException($"{source}: {path}.fn_name: call-based tests (APPS fn_name) are not supported; use stdin/stdout or assert cases");
    }

    private static AssertTestCase Assert(string code, string? setup) =>
        new(string.IsNullOrWhiteSpace(setup) ? code : setup.TrimEnd() + "\n" + code);

    private static void RequireArray(JsonElement element, string path, string source)
    {
        if (element.ValueKind != JsonValueKind.Array)
            throw new CodeTestsFormatException($"{source}: {path} must be an array, got {(element.ValueKind == JsonValueKind.Undefined ? "nothing" : element.ValueKind)}");
    }

    private static string? OptionalString(JsonElement obj, string name, string path, string source)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return StringValue(value, $"{path}.{name}", source);
    }

    private static string StringValue(JsonElement value, string path, string source) =>
        value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new CodeTestsFormatException($"{source}: {path} must be a string, got {value.ValueKind}");

    /// <summary>An expected output: a string, a number (its JSON text), or an array of lines.</summary>
    private static string OutputValue(JsonElement value, string path, string source)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString()!;
            case JsonValueKind.Number:
                return value.GetRawText();
            case JsonValueKind.Array:
                var lines = new List<string>();
                int i = 0;
                foreach (var line in value.EnumerateArray())
                {
                    lines.Add(line.ValueKind == JsonValueKind.Number ? line.GetRawText() : StringValue(line, $"{path}[{i}]", source));
                    i++;
                }
                return string.Join('\n', lines);
            default:
                throw new CodeTestsFormatException($"{source}: {path} must be a string, a number or an array of lines, got {value.ValueKind}");
        }
    }
}
