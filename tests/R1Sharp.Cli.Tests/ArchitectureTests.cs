using System.CommandLine;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Distill;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pipeline;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Recipes.Sampling;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tests;

namespace R1Sharp.Cli.Tests;

/// <summary>
/// The architecture docs/architecture.md describes, checked: the project reference graph, one test project per source
/// project, and every command line a comment, a help text or a doc shows — the command exists, every flag is one of its
/// options, every <c>--set</c> field is a field of its options, every repository file it names exists.
/// </summary>
public partial class ArchitectureTests
{
    /// <summary>The table of docs/architecture.md: each source project and the projects it may reference.</summary>
    static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["R1Sharp.Data"] = [],
        ["R1Sharp.Text"] = ["R1Sharp.Data"],
        ["R1Sharp.Rewards"] = [],
        ["R1Sharp.Tasks"] = ["R1Sharp.Data", "R1Sharp.Rewards", "R1Sharp.Text"],
        ["R1Sharp.Model"] = ["R1Sharp.Data"],
        ["R1Sharp.Engine"] = ["R1Sharp.Model", "R1Sharp.Text"],
        ["R1Sharp.Training"] = ["R1Sharp.Data", "R1Sharp.Model"],
        ["R1Sharp.Server"] = ["R1Sharp.Engine", "R1Sharp.Text"],
        ["R1Sharp.Recipes"] = ["R1Sharp.Data", "R1Sharp.Engine", "R1Sharp.Rewards", "R1Sharp.Tasks", "R1Sharp.Text", "R1Sharp.Training"],
        ["R1Sharp.Cli"] = ["R1Sharp.Recipes", "R1Sharp.Server"],
    };

    static string Src => Path.Combine(RepoPaths.Root, "src");

    [Fact]
    public void Project_references_follow_the_layer_table_of_the_architecture_doc()
    {
        var projects = Directory.GetDirectories(Src).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(Allowed.Keys.Order(), projects);
        foreach (var project in projects)
        {
            var csproj = XDocument.Load(Path.Combine(Src, project!, project + ".csproj"));
            var references = csproj.Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value)).Order();
            Assert.True(references.SequenceEqual(Allowed[project!].Order()),
                $"{project} references {string.Join(", ", references)}; docs/architecture.md allows {string.Join(", ", Allowed[project!])}");
        }
        // The table in the doc is this table.
        string doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "architecture.md"));
        foreach (var (project, refs) in Allowed)
        {
            var row = doc.Split('\n').Single(l => l.StartsWith($"| `{project}` |", StringComparison.Ordinal));
            string cell = row.TrimEnd().TrimEnd('|').Split('|')[^1].Trim();
            Assert.Equal(refs.Length == 0 ? ["—"] : refs.Select(r => r["R1Sharp.".Length..]).Order(), cell.Split(", ").Order());
        }
    }

    [Fact]
    public void Every_source_project_has_its_test_project()
    {
        foreach (var project in Directory.GetDirectories(Src).Select(Path.GetFileName))
            Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "tests", project + ".Tests", project + ".Tests.csproj")), project);
        foreach (var tests in Directory.GetDirectories(Path.Combine(RepoPaths.Root, "tests"), "R1Sharp.*.Tests").Select(Path.GetFileName))
            Assert.True(Directory.Exists(Path.Combine(Src, tests![..^".Tests".Length])), $"{tests} tests no source project");
    }

    /// <summary>The options record each recipe command binds <c>--set</c> and <c>--config</c> to.</summary>
    static readonly Dictionary<string, Func<string, IReadOnlyList<ConfigError>>> Fields = new()
    {
        ["sft"] = set => Errors(new SftOptions(), set),
        ["rm"] = set => Errors(new RewardModelOptions(), set),
        ["grpo"] = set => Errors(new GrpoOptions(), set),
        ["pretrain"] = set => Errors(new PretrainOptions(), set),
        ["sample"] = set => Errors(new RejectionSamplingOptions(), set),
        ["distill"] = set => Errors(new DistillOptions(), set),
        ["pipeline run"] = set => Errors(new PipelineOptions(), set),
    };

    static IReadOnlyList<ConfigError> Errors<T>(T defaults, string assignment) where T : notnull
    {
        try
        {
            ConfigBinder.LoadYaml(defaults, null, "--set", [assignment]);
            return [];
        }
        catch (ConfigException e) { return e.Errors; }
    }

    /// <summary>Where commands are shown: source comments and help texts, the README, docs and configs.</summary>
    static IEnumerable<(string File, int Line, string Text)> Mentions()
    {
        var files = Directory.EnumerateFiles(Src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Concat(Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md"))
            .Concat(Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "configs"), "*.yaml"))
            .Append(Path.Combine(RepoPaths.Root, "README.md"));
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
                foreach (Match m in Command().Matches(lines[i]))
                    yield return (Path.GetRelativePath(RepoPaths.Root, file), i + 1, m.Groups["rest"].Value);
        }
    }

    [GeneratedRegex(@"(?:\br1sharp|--project src/R1Sharp\.Cli -c Release --)\s+(?<rest>[a-z][\w-]*.*)$")]
    private static partial Regex Command();

    [Fact]
    public void Every_command_line_a_comment_help_or_doc_shows_exists_with_its_flags_fields_and_files()
    {
        var root = R1Sharp.Cli.CliApp.CreateRoot(new Option<bool>("--verbose"));
        var problems = new List<string>();
        int checkedLines = 0;
        foreach (var (file, line, text) in Mentions())
        {
            var tokens = Tokens(text);
            Command command = root;
            var path = new List<string>();
            int i = 0;
            while (i < tokens.Count && command.Subcommands.FirstOrDefault(c => c.Name == tokens[i]) is { } sub)
            {
                command = sub;
                path.Add(tokens[i++]);
            }
            if (path.Count == 0)
            {
                // "r1sharp" followed by a word that is not a command: prose ("r1sharp is …") unless it looks like one.
                if (tokens.Count > 1 && tokens[1].StartsWith("--", StringComparison.Ordinal))
                    problems.Add($"{file}:{line}: 'r1sharp {tokens[0]}' is not a command");
                continue;
            }
            checkedLines++;
            string name = string.Join(' ', path);
            var options = command.Options.SelectMany(o => o.Aliases.Append(o.Name)).Append("--help").Append("--verbose").ToHashSet();
            for (; i < tokens.Count; i++)
            {
                string t = tokens[i];
                if (t.StartsWith("--", StringComparison.Ordinal))
                {
                    string flag = t.Split('=')[0];
                    if (!options.Contains(flag)) problems.Add($"{file}:{line}: r1sharp {name} has no option {flag}");
                    if (flag == "--set" && i + 1 < tokens.Count && Fields.TryGetValue(name, out var check) && tokens[i + 1].Contains('='))
                    {
                        string assignment = tokens[++i];
                        string field = assignment[..assignment.IndexOf('=')];
                        if (field is "field" or "path") continue; // the placeholder of a usage line
                        foreach (var error in check(assignment).Where(e => e.Problem.Contains("unknown field") || e.Problem.Contains("has no field")))
                            problems.Add($"{file}:{line}: r1sharp {name} --set {field}: {error.Problem}");
                    }
                }
                else if (RepoFile().IsMatch(t) && !File.Exists(Path.Combine(RepoPaths.Root, t)) && !Directory.Exists(Path.Combine(RepoPaths.Root, t)))
                    problems.Add($"{file}:{line}: {t} does not exist");
            }
        }
        Assert.True(checkedLines > 40, $"only {checkedLines} command lines found");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>A path into the repository's own folders (configs/…, docs/…, scripts/…).</summary>
    [GeneratedRegex(@"^(configs|docs|scripts|bench|data)/[\w./-]+\.\w+$")]
    private static partial Regex RepoFile();

    /// <summary>The words of a shown command line, up to where the command ends (a closing backtick or tag, a comment).</summary>
    static List<string> Tokens(string text)
    {
        foreach (var end in new[] { "`", "</c>", " #", "  ·", " — ", "\"\"\"" })
        {
            int at = text.IndexOf(end, StringComparison.Ordinal);
            if (at >= 0) text = text[..at];
        }
        var tokens = new List<string>();
        foreach (Match m in Word().Matches(text))
        {
            string t = m.Value.Trim('[', ']', '(', ')', ',', ';', ':', '.', '\'', '"');
            if (t.Length == 0 || t == "|" || t == "…") continue;
            if (t.StartsWith("--", StringComparison.Ordinal) && t.Contains('|')) tokens.AddRange(t.Split('|').Select(x => x.Trim('[', ']')));
            else tokens.Add(t);
        }
        return tokens;
    }

    [GeneratedRegex(@"""[^""]*""|'[^']*'|\S+")]
    private static partial Regex Word();
}
