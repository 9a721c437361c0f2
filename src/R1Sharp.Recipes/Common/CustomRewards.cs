using R1Sharp.Recipes.Config;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Recipes.Common;

/// <summary>
/// Rewards of users' own assemblies in recipe options (docs/custom-rewards.md): the check every options record with rewards makes
/// (<c>rewards[i].assembly</c> names a loadable assembly with that reward, and the reward can be created), and the
/// <c>--reward-assembly</c> flag of the commands, which points the rewards R1Sharp does not have to the assemblies given.
/// </summary>
public static class CustomRewards
{
    /// <summary>
    /// The problems of the rewards in <paramref name="rewards"/> that name an assembly, each with its field
    /// (<c>rewards[1].assembly</c>): a missing file, a file that is not a .NET assembly, no reward of that name in it (the message
    /// lists the ones found), a constructor that failed, an option the reward does not read. Each such reward is created once here.
    /// </summary>
    public static IEnumerable<(string Field, string Problem)> Problems(IReadOnlyList<RewardSpec> rewards, string field = "rewards")
    {
        var problems = new List<(string, string)>();
        for (int i = 0; i < rewards.Count; i++)
        {
            if (rewards[i] is not { Assembly: { } assembly } spec) continue;
            string at = $"{field}[{i}]";
            try
            {
                var reward = RewardAssemblies.Create(assembly, spec.Name, spec.Options, $"{at}.assembly");
                (reward as IDisposable)?.Dispose();
            }
            catch (RewardAssemblyException e) { problems.Add(($"{at}.assembly", e.Problem)); }
            catch (RewardConfigException e) { problems.Add(($"{at}.options", e.Message)); }
        }
        return problems;
    }

    /// <summary>
    /// <paramref name="options"/> with every reward that names no assembly and is not one of R1Sharp's own looked up in
    /// <paramref name="assemblies"/> (in order; the first that has it wins) and pointed to it — in every rewards list of the
    /// record, nested ones included (a pipeline's stages).
    /// </summary>
    /// <param name="root">The options' root in error messages, as the command's config has it (<c>grpo</c>).</param>
    /// <param name="option">The option the assemblies came from, for errors.</param>
    /// <exception cref="RewardAssemblyException">An assembly cannot be loaded, or a reward is in none of them and not R1Sharp's.</exception>
    public static T WithAssemblies<T>(T options, IReadOnlyList<string> assemblies, string root = "", string option = "--reward-assembly") where T : notnull
    {
        if (assemblies.Count == 0) return options;
        var found = assemblies.Select(a => (Path: Path.GetFullPath(a), Rewards: RewardAssemblies.Find(a, option))).ToList();
        var builtIn = RewardRegistry.CreateStandard();
        var assignments = new List<string>();
        foreach (var (path, rewards) in RewardLists(options, typeof(T), ""))
            for (int i = 0; i < rewards.Count; i++)
            {
                var spec = rewards[i];
                if (spec.Assembly is not null || builtIn.Contains(spec.Name)) continue;
                var home = found.FirstOrDefault(f => f.Rewards.Any(r => r.Name == spec.Name));
                if (home.Path is null)
                    throw new RewardAssemblyException(option,
                        $"{ConfigReader.Display(root, $"{path}[{i}]")}: no reward '{spec.Name}' in {string.Join(", ", found.Select(f => f.Path))} " +
                        $"(rewards found: {Names(found.SelectMany(f => f.Rewards.Select(r => r.Name)))}) and R1Sharp has none of that name " +
                        $"(it has: {Names(builtIn.Names)})");
                assignments.Add($"{path}[{i}].assembly='{home.Path.Replace("'", "''")}'");
            }
        if (assignments.Count == 0) return options;
        try
        {
            return ConfigBinder.LoadYaml(options, null, option, assignments, root);
        }
        catch (ConfigException e) // the options were valid before: what is wrong now came with the assemblies
        {
            throw new ConfigException([.. e.Errors.Select(x => x.Source == ConfigBinder.OverrideSource ? x with { Source = option } : x)]);
        }
    }

    /// <summary>True when the record has a list of rewards (its own or a nested record's): the commands that take <c>--reward-assembly</c>.</summary>
    public static bool HasRewards<T>(T options) where T : notnull => RewardLists(options, typeof(T), "").Any();

    static string Names(IEnumerable<string> names) => names.Any() ? string.Join(", ", names.Distinct().Order(StringComparer.Ordinal)) : "none";

    /// <summary>Every list of rewards in the record, with its field path (<c>rewards</c>, <c>reasoning_rl.rewards</c>).</summary>
    static IEnumerable<(string Path, IReadOnlyList<RewardSpec> Rewards)> RewardLists(object value, Type type, string prefix)
    {
        foreach (var field in RecordModel.For(type).Fields)
        {
            var fieldValue = field.Get(value);
            if (fieldValue is IReadOnlyList<RewardSpec> rewards) yield return (prefix + field.Name, rewards);
            else if (fieldValue is not null && ConfigTypes.KindOf(field.Type) == ConfigKind.Record)
                foreach (var inner in RewardLists(fieldValue, Nullable.GetUnderlyingType(field.Type) ?? field.Type, prefix + field.Name + "."))
                    yield return inner;
        }
    }
}
