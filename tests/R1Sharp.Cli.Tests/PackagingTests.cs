using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit.Abstractions;
using R1Sharp.Tests;

namespace R1Sharp.Cli.Tests;

/// <summary>
/// What a .NET user gets (docs/packaging.md): scripts/pack.sh packs the libraries and the r1sharp tool into a folder; the tool
/// installs from it into a tool path and runs real commands; samples/CustomReward builds against the packages from that folder,
/// its tests pass (GRPO from code with its rewards), and the installed tool trains with its reward assembly.
/// </summary>
/// <remarks>
/// The packages are packed with a version of their own (<c>0.1.0-test.KEY</c>, KEY a hash of the built assemblies and the
/// packaging inputs) into a cache under the temporary folder, with the tool installed beside them: a rerun on the same build
/// reuses them and only builds and runs the sample again. Packages restore into the cache's own package folder (the user's
/// global one serves as a read-only fallback for TorchSharp and the test packages), so nothing is left in ~/.nuget.
/// </remarks>
public class PackagingTests(ITestOutputHelper output)
{
    static readonly string[] Libraries =
        ["R1Sharp.Data", "R1Sharp.Text", "R1Sharp.Tasks", "R1Sharp.Rewards", "R1Sharp.Model", "R1Sharp.Engine", "R1Sharp.Training", "R1Sharp.Recipes", "R1Sharp.Server"];

    static readonly string Rid = RuntimeInformation.RuntimeIdentifier;

    [Fact]
    public void Packages_install_the_tool_and_build_the_custom_reward_sample_that_trains_with_it()
    {
        var timing = new StringBuilder();
        var clock = Stopwatch.StartNew();
        void Lap(string what) { timing.Append($"{what} {clock.Elapsed.TotalSeconds:F0} s; "); clock.Restart(); }

        var cache = Cache.Prepare(Lap);
        string packages = Path.Combine(cache.Folder, "packages");

        // ---- the packages: id, version, description, licence, readme, symbols; the libraries' TorchSharp is the managed one ----
        foreach (var id in Libraries)
        {
            string nupkg = Path.Combine(packages, $"{id}.{cache.Version}.nupkg");
            Assert.True(File.Exists(nupkg), $"{nupkg} missing; the folder has {string.Join(", ", Directory.GetFiles(packages).Select(Path.GetFileName))}");
            Assert.True(File.Exists(Path.ChangeExtension(nupkg, ".snupkg")), $"{id}: no symbols package");
            using var zip = ZipFile.OpenRead(nupkg);
            var nuspec = Nuspec(zip);
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var meta = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal(id, meta.Element(ns + "id")!.Value);
            Assert.Equal(cache.Version, meta.Element(ns + "version")!.Value);
            Assert.Equal("MIT", meta.Element(ns + "license")!.Value);
            Assert.Equal("README.md", meta.Element(ns + "readme")!.Value);
            Assert.True(meta.Element(ns + "description")!.Value.Length > 40, $"{id}: description '{meta.Element(ns + "description")!.Value}'");
            Assert.NotNull(zip.GetEntry("README.md"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.dll"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.xml")); // the help text of the options records
            var dependencies = meta.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
            Assert.DoesNotContain("TorchSharp-cpu", dependencies); // the application chooses the native backend
            if (id == "R1Sharp.Model")
            {
                Assert.Contains("TorchSharp", dependencies);
                Assert.NotNull(zip.GetEntry("buildTransitive/R1Sharp.Model.targets"));
            }
        }
        // the tool: a package that points to this platform's package, which holds the command and TorchSharp's CPU natives
        Assert.Contains($"RuntimeIdentifier=\"{Rid}\" Id=\"r1sharp.{Rid}\"", ToolSettings(Path.Combine(packages, $"r1sharp.{cache.Version}.nupkg")));
        Assert.Contains("<Command Name=\"r1sharp\" EntryPoint=\"r1sharp.dll\"", ToolSettings(Path.Combine(packages, $"r1sharp.{Rid}.{cache.Version}.nupkg")));
        using (var tool = ZipFile.OpenRead(Path.Combine(packages, $"r1sharp.{Rid}.{cache.Version}.nupkg")))
        {
            Assert.Contains(tool.Entries, e => e.Name.StartsWith("libtorch_cpu", StringComparison.Ordinal) || e.Name.StartsWith("torch_cpu", StringComparison.Ordinal));
            // the tool ships TorchSharp.dll with the Scalar finalizer hook (build/TorchSharpScalarFix.cs)
            using var torchSharp = new MemoryStream();
            using (var entry = tool.Entries.Single(e => e.Name == "TorchSharp.dll").Open()) entry.CopyTo(torchSharp);
            Assert.True(torchSharp.ToArray().AsSpan().IndexOf("R1SharpFinalizeHook"u8) >= 0, "the tool's TorchSharp.dll is not patched");
        }

        // ---- the installed tool runs ----
        var help = Run(cache.Tool, ["--help"], cache.Folder);
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("pipeline", help.Stdout);
        Assert.Contains("grpo", help.Stdout);
        var grpoHelp = Run(cache.Tool, ["grpo", "--help"], cache.Folder);
        Assert.Contains("--reward-assembly", grpoHelp.Stdout);
        Lap("tool --help");

        // ---- the sample, from a copy whose NuGet.config points at the packed folder ----
        string sample = Path.Combine(cache.Folder, "sample");
        if (Directory.Exists(sample)) Directory.Delete(sample, recursive: true);
        try
        {
            CopyTree(Path.Combine(RepoPaths.Root, "samples", "CustomReward"), sample);
            string config = File.ReadAllText(Path.Combine(sample, "NuGet.config"));
            Assert.Contains("../../artifacts/packages", config);
            config = config.Replace("../../artifacts/packages", packages, StringComparison.Ordinal)
                .Replace("</configuration>", $"  <fallbackPackageFolders>\n    <add key=\"user\" value=\"{Cache.UserPackages}\" />\n  </fallbackPackageFolders>\n</configuration>", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(sample, "NuGet.config"), config);

            var test = Run(Dotnet, ["test", Path.Combine(sample, "MyRewards.Tests"), "-c", "Release", "-nologo", $"-p:R1SharpVersion={cache.Version}",
                "-p:CreateHardLinksForCopyLocalIfPossible=true"], sample, cache.Environment, TimeSpan.FromMinutes(8));
            Assert.True(test.ExitCode == 0, test.ToString());
            Assert.Matches(@"Failed:\s+0, Passed:\s+6, Skipped:\s+0, Total:\s+6", test.Stdout);
            Lap("sample build and test");

            // ---- the installed tool with the sample's reward assembly ----
            string dll = Path.Combine(sample, "MyRewards", "bin", "Release", "net10.0", "MyRewards.dll");
            Assert.True(File.Exists(dll), dll);
            string work = Path.Combine(sample, "runs");
            Directory.CreateDirectory(work);

            string rows = Path.Combine(work, "rows.jsonl");
            File.WriteAllLines(rows, [
                """{"completion": "<think>3+4 is 7</think> <answer>7</answer>", "answer": "7"}""",
                """{"completion": "<answer>8</answer>", "answer": "7"}""",
                """{"completion": "no tags at all here"}""",
            ]);
            var scored = Run(cache.Tool, ["reward", "--input", rows, "--rewards", "exact_answer,brevity:max_words=2", "--reward-assembly", dll], work);
            Assert.True(scored.ExitCode == 0, scored.ToString());
            var lines = scored.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["rewards"]!).ToList();
            // by the sample's definitions: the last answer tag against the answer field, null without one; max_words / words beyond 2
            Assert.Equal(new double?[] { 1.0, 0.0, null }, lines.Select(r => r["exact_answer"]?.GetValue<double>()));
            Assert.Equal(new[] { 2.0 / 4, 1.0, 2.0 / 5 }, lines.Select(r => r["brevity"]!.GetValue<double>()));

            // The whole quick pipeline from the installed tool (every stage, small), its R1-Zero stage trained with the
            // custom reward from its assembly.
            string pipeline = Path.Combine(work, "pipeline");
            var run = Run(cache.Tool, ["pipeline", "run", Path.Combine(RepoPaths.Root, "configs", "pipeline-embedded.yaml"), "--output", pipeline,
                "--quick", "--threads", "2", "--reward-assembly", dll,
                "--set", "base.steps=3", "--set", "base.batch_size=4", "--set", "base.corpus_documents=300", "--set", "r1_zero.rewards=[exact_answer, r1_zero_format]", "--set", "r1_zero.steps=2",
                "--set", "r1_zero.eval_prompts=4"], work, timeout: TimeSpan.FromMinutes(10));
            Assert.True(run.ExitCode == 0, run.ToString());
            var completions = File.ReadAllLines(Path.Combine(pipeline, "r1-zero", "completions.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.NotEmpty(completions);
            Assert.All(completions, c => Assert.Contains(c["rewards"]!["exact_answer"]!.GetValue<double>(), new[] { 0.0, 1.0 }));
            var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(pipeline, "summary.json")))!;
            Assert.All(summary["stages"]!.AsArray(), s => Assert.Equal("done", s!["status"]!.GetValue<string>()));
            Assert.Equal(["base", "r1-zero", "cold-start", "reasoning-rl", "sft", "r1", "distilled-student", "rl-only-student"],
                summary["table"]!.AsArray().Select(r => r!["row"]!.GetValue<string>()));
            Assert.True(File.Exists(Path.Combine(pipeline, "report.html")));
            Lap("tool pipeline --quick, every stage, with the custom reward");

            // Errors name the config file, line and field, and the path: a reward the assembly lacks, a missing assembly.
            string bad = Path.Combine(work, "bad.yaml");
            File.WriteAllText(bad, $"steps: 1\nrewards:\n  - accuracy\n  - name: exact\n    assembly: '{dll}'\n");
            var wrongName = Run(cache.Tool, ["grpo", "--model", pipeline, "--output", Path.Combine(work, "bad"), "--config", bad], work);
            Assert.Equal(1, wrongName.ExitCode);
            Assert.Contains($"{bad}: line 5: grpo.rewards[1].assembly: {dll}: no reward 'exact' in it; rewards found: brevity (MyRewards.BrevityBonus), " +
                            "exact_answer (MyRewards.ExactAnswer)", wrongName.Stderr);
            var missing = Run(cache.Tool, ["grpo", "--model", pipeline, "--output", Path.Combine(work, "bad"), "--rewards", "[mine]",
                "--reward-assembly", Path.Combine(work, "Nope.dll")], work);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains($"error: --reward-assembly: {Path.Combine(work, "Nope.dll")}: file not found", missing.Stderr);
        }
        finally
        {
            try { Directory.Delete(sample, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        Lap("errors");
        output.WriteLine($"packaging test: {timing}");
    }

    [Fact]
    public void The_torch_backend_property_picks_the_native_package_of_what_runs_and_the_libraries_stay_managed()
    {
        string cli = Path.Combine(RepoPaths.Root, "src", "R1Sharp.Cli", "R1Sharp.Cli.csproj");
        string model = Path.Combine(RepoPaths.Root, "src", "R1Sharp.Model", "R1Sharp.Model.csproj");
        string cudaPackage = OperatingSystem.IsWindows() ? "TorchSharp-cuda-windows" : "TorchSharp-cuda-linux";
        Assert.Equal(new[] { "TorchSharp-cpu" }, TorchPackages(cli));
        Assert.Equal(new[] { cudaPackage }, TorchPackages(cli, "-p:R1SharpTorchBackend=cuda"));
        Assert.Equal(new[] { cudaPackage }, TorchPackages(cli, "-p:TorchBackend=cuda")); // the older name
        Assert.Equal(new[] { "TorchSharp" }, TorchPackages(model));
        Assert.Equal(new[] { "TorchSharp" }, TorchPackages(model, "-p:R1SharpTorchBackend=cuda"));

        var bad = Run(Dotnet, ["msbuild", cli, "-t:R1SharpCheckTorchBackend", "-p:R1SharpTorchBackend=rocm", "-nologo"], RepoPaths.Root);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("R1SharpTorchBackend must be cpu or cuda, got 'rocm'", bad.Stdout + bad.Stderr);
    }

    /// <summary>The TorchSharp packages the project references once evaluated with <paramref name="properties"/> (no restore, no build).</summary>
    static string[] TorchPackages(string project, params string[] properties)
    {
        var r = Run(Dotnet, ["msbuild", project, "-getItem:PackageReference", "-nologo", .. properties], RepoPaths.Root);
        Assert.True(r.ExitCode == 0, r.ToString());
        return [.. JsonNode.Parse(r.Stdout)!["Items"]!["PackageReference"]!.AsArray()
            .Select(i => i!["Identity"]!.GetValue<string>()).Where(id => id.StartsWith("TorchSharp", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
    }

    static string ToolSettings(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        using var reader = new StreamReader(zip.Entries.Single(e => e.Name == "DotnetToolSettings.xml").Open());
        return reader.ReadToEnd();
    }

    static XDocument Nuspec(ZipArchive zip)
    {
        using var stream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/')).Open();
        return XDocument.Load(stream);
    }

    static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(from, file);
            var parts = relative.Split(Path.DirectorySeparatorChar);
            if (parts.Any(p => p is "bin" or "obj")) continue;
            string target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    static CliResult Run(string program, string[] args, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(ResolveDotnet())!; // the tool's launcher finds the runtime here
        // the test host's own variables must not leak into the builds and the tool (MSBuild node reuse, the test platform)
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "VSTEST_HOST_DEBUG", "DOTNET_HOST_PATH" })
            start.Environment.Remove(name);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {(timeout ?? TimeSpan.FromMinutes(2)).TotalSeconds:F0} s\n{stdout.Result}\n{stderr.Result}");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    static string ResolveDotnet()
    {
        if (Path.IsPathRooted(Dotnet)) return new FileInfo(Dotnet).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Dotnet;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, "dotnet");
            if (File.Exists(candidate)) return new FileInfo(candidate).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? candidate;
        }
        return "/usr/share/dotnet/dotnet";
    }

    /// <summary>The packed folder and the installed tool for this build, made once and reused while the build is the same.</summary>
    sealed record Cache(string Folder, string Version, string Tool, IReadOnlyDictionary<string, string> Environment)
    {
        static readonly string Root = Path.Combine(Path.GetTempPath(), "r1sharp-packaging-test");

        public static string UserPackages => System.Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".nuget", "packages");

        public static Cache Prepare(Action<string> lap)
        {
            string key = Key();
            string folder = Path.Combine(Root, key);
            Directory.CreateDirectory(folder);
            Directory.SetLastWriteTimeUtc(folder, DateTime.UtcNow); // in use: its age counts from now
            // Other builds' caches (~1 GB each: packages and their NuGet folder) go once unused for an hour; another checkout
            // on this machine may be using one now, and no test run takes that long. Kept for six hours, a day of CI runs left 20 GB.
            foreach (var old in Directory.GetDirectories(Root).Where(d => Path.GetFileName(d) != key && Directory.GetLastWriteTimeUtc(d) < DateTime.UtcNow.AddHours(-1)))
                try { Directory.Delete(old, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }

            var baseVersion = Regex.Match(File.ReadAllText(Path.Combine(RepoPaths.Root, "Directory.Build.props")), "<Version>([^<]+)</Version>").Groups[1].Value;
            string version = $"{baseVersion}-test.{key}";
            var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(folder, "nuget") };
            string packages = Path.Combine(folder, "packages");
            string toolPath = Path.Combine(folder, "tool");
            string tool = Path.Combine(toolPath, OperatingSystem.IsWindows() ? "r1sharp.exe" : "r1sharp");

            if (!File.Exists(Path.Combine(packages, ".done")))
            {
                if (Directory.Exists(packages)) Directory.Delete(packages, recursive: true);
                string build = Path.Combine(folder, "build");
                var pack = Run("bash", [Path.Combine(RepoPaths.Root, "scripts", "pack.sh"), "--rid", Rid, "--output", packages, "--build", build,
                    $"-p:Version={version}"], RepoPaths.Root, timeout: TimeSpan.FromMinutes(10));
                Assert.True(pack.ExitCode == 0, pack.ToString());
                Directory.Delete(build, recursive: true); // the packages are what is kept
                File.WriteAllText(Path.Combine(packages, ".done"), version);
                lap("pack");
            }
            if (!File.Exists(Path.Combine(toolPath, ".done")))
            {
                if (Directory.Exists(toolPath)) Directory.Delete(toolPath, recursive: true);
                var install = Run(Dotnet, ["tool", "install", "r1sharp", "--tool-path", toolPath, "--add-source", packages, "--version", version],
                    folder, environment, TimeSpan.FromMinutes(5));
                Assert.True(install.ExitCode == 0, install.ToString());
                File.WriteAllText(Path.Combine(toolPath, ".done"), version);
                lap("tool install");
            }
            return new Cache(folder, version, tool, environment);
        }

        /// <summary>A hash of what the packages are made of: this build's R1Sharp assemblies and the packaging inputs.</summary>
        static string Key()
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var files = Directory.GetFiles(AppContext.BaseDirectory, "R1Sharp.*.dll").Where(f => !Path.GetFileName(f).Contains(".Tests", StringComparison.Ordinal))
                .Append(Path.Combine(AppContext.BaseDirectory, "r1sharp.dll"))
                .Concat(Directory.GetFiles(Path.Combine(RepoPaths.Root, "build")))
                .Concat(Directory.GetFiles(Path.Combine(RepoPaths.Root, "src"), "*.csproj", SearchOption.AllDirectories))
                .Concat(Directory.GetFiles(Path.Combine(RepoPaths.Root, "src"), "README.md", SearchOption.TopDirectoryOnly))
                .Concat(Directory.GetDirectories(Path.Combine(RepoPaths.Root, "src")).Select(d => Path.Combine(d, "README.md")).Where(File.Exists))
                .Concat(new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "LICENSE", "scripts/pack.sh" }.Select(f => Path.Combine(RepoPaths.Root, f)))
                .Order(StringComparer.Ordinal);
            foreach (var file in files)
            {
                hash.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file)));
                hash.AppendData(File.ReadAllBytes(file));
            }
            return Convert.ToHexString(hash.GetHashAndReset())[..12].ToLowerInvariant();
        }
    }
}
