using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using R1Sharp.Rewards.Code;
using R1Sharp.Rewards.Verification;

namespace R1Sharp.Rewards.Rules;

public sealed partial class RewardRegistry
{
    /// <summary>
    /// The registry trainers, evaluation and the CLI use: every rule reward of <see cref="CreateDefault"/>, with
    /// <c>accuracy</c>, <c>length</c> and <c>cosine</c> graded by <see cref="MathGrader(string, string)"/> (Math-Verify's port) and
    /// <c>code</c> run in a local <see cref="CodeSandbox"/>.
    /// </summary>
    /// <remarks>
    /// Options of <c>code</c> (defaults in brackets): <c>language</c> [python] (when the tests name none),
    /// <c>tolerance</c> [exact] (compare numeric output tokens within this absolute and relative tolerance),
    /// <c>time_limit</c> [4] seconds per test run, <c>memory_mb</c> [512], <c>workers</c> [one per core],
    /// <c>allow_unsandboxed</c> [<paramref name="allowUnsandboxed"/>] (run programs with resource limits only where
    /// Linux namespaces are unavailable — see <see cref="CodeSandboxOptions.AllowUnsandboxed"/>).
    /// The sandbox is created on first use of <c>code</c> (it probes the machine's isolation) and shared by every
    /// code reward of this registry with the same limits; creating it fails on machines that cannot run it
    /// (not Linux, util-linux missing, no namespaces and no opt-in), with that reason in a
    /// <see cref="RewardConfigException"/>.
    /// </remarks>
    /// <param name="logger">Receives the sandbox's warnings (an allowed unsandboxed fallback, no seccomp filter);
    /// without one they go to standard error.</param>
    /// <param name="grader">The answer grader of <c>accuracy</c>, <c>length</c> and <c>cosine</c> (a task's own, e.g. the embedded
    /// arithmetic task's); null: <see cref="MathGrader(string, string)"/>.</param>
    /// <param name="allowUnsandboxed">The default of the <c>code</c> option <c>allow_unsandboxed</c> (the CLI's
    /// <c>--allow-unsandboxed</c>).</param>
    public static RewardRegistry CreateStandard(ILogger? logger = null, Func<string, string, bool?>? grader = null, bool allowUnsandboxed = false)
    {
        var registry = CreateDefault(grader ?? MathGrader);
        var sandboxes = new ConcurrentDictionary<(TimeSpan, int, int, bool), Lazy<CodeSandbox>>();
        registry.Register("code", o =>
        {
            var language = o.GetString("language", "python");
            if (CodeLanguages.Find(language) is null)
                throw new RewardConfigException(
                    $"Reward '{o.RewardName}': option 'language' must be one of {string.Join(", ", CodeLanguages.All.Select(l => l.Name))}, got '{language}'.");
            FloatTolerance? tolerance = o.GetRaw("tolerance") is null ? null : new FloatTolerance(o.GetDouble("tolerance", 0), o.GetDouble("tolerance", 0));
            var defaults = new CodeSandboxOptions();
            var limits = new CodeSandboxOptions
            {
                TimeLimit = TimeSpan.FromSeconds(o.GetDouble("time_limit", defaults.TimeLimit.TotalSeconds)),
                MemoryMegabytes = o.GetInt("memory_mb", defaults.MemoryMegabytes),
                Workers = o.GetInt("workers", defaults.Workers),
                AllowUnsandboxed = o.GetBool("allow_unsandboxed", allowUnsandboxed),
            };
            CodeSandbox sandbox;
            try
            {
                limits.Validate();
                sandbox = sandboxes.GetOrAdd((limits.TimeLimit, limits.MemoryMegabytes, limits.Workers, limits.AllowUnsandboxed),
                    _ => new Lazy<CodeSandbox>(() => new CodeSandbox(limits, logger))).Value;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or PlatformNotSupportedException)
            {
                throw new RewardConfigException($"Reward '{o.RewardName}': {e.Message}", e);
            }
            return new CodeReward(sandbox, new CodeRewardOptions { DefaultLanguage = language, Tolerance = tolerance });
        });
        return registry;
    }

    /// <summary>
    /// The answer grader of the standard registry: extracts the completion's final answer and compares it with the
    /// gold answer (<see cref="MathVerifier.Grade"/>, default <see cref="VerifyOptions"/>). True when they match;
    /// false when they do not or when the completion has no answer (the model's fault); null ("cannot judge") when
    /// the gold answer is blank or cannot be parsed and does not match literally — open-r1's accuracy reward
    /// returns None when the gold does not parse.
    /// </summary>
    public static bool? MathGrader(string gold, string completion) => MathGrader(gold, completion, VerifyOptions.Default);

    /// <summary>
    /// <see cref="MathGrader(string, string)"/> with Math-Verify's options (<c>precision</c>, <c>strict</c>,
    /// <c>allow_set_relation_comp</c>, …) given in <paramref name="options"/>.
    /// </summary>
    public static bool? MathGrader(string gold, string completion, VerifyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(gold)) return null;
        var result = MathVerifier.Grade(gold, completion, options);
        if (result.Correct == true) return true;
        return MathVerifier.Normalize(gold, options) is null ? null : false;
    }
}
