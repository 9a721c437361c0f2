using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;

namespace R1Sharp.Rewards.Rules;

/// <summary>A reward class found in a user's assembly: its registered name, the class, and the assembly's full path.</summary>
public sealed record CustomRewardType(string Name, Type Type, string AssemblyPath);

/// <summary>
/// A user's assembly could not give the reward asked for: the file is missing, is not a .NET assembly, holds no reward of
/// that name, or the reward's constructor failed. <see cref="Field"/> is where the path was given (<c>rewards[1].assembly</c>,
/// <c>--reward-assembly</c>); <see cref="Problem"/> names the path and what is wrong.
/// </summary>
public sealed class RewardAssemblyException(string field, string problem, Exception? inner = null)
    : Exception($"{field}: {problem}", inner)
{
    /// <summary>Where the assembly was named: a config field or a command-line option.</summary>
    public string Field { get; } = field;

    /// <summary>What is wrong, starting with the assembly's path.</summary>
    public string Problem { get; } = problem;
}

/// <summary>
/// Rewards from users' own assemblies (docs/custom-rewards.md). A class implementing <see cref="IReward"/> is found by its
/// registered name: <see cref="RewardNameAttribute"/>, or else the class name in snake_case (<c>MyReward</c> → <c>my_reward</c>).
/// It needs a public constructor taking <see cref="RewardOptions"/> (the spec's options) or none.
/// </summary>
/// <remarks>
/// Each assembly is loaded once per process into its own <see cref="AssemblyLoadContext"/> that shares R1Sharp's assemblies, and
/// every assembly the application already has, with the application — so the reward's <see cref="IReward"/> is R1Sharp's own
/// type — and loads the rest of the assembly's dependencies from its own folder (its <c>.deps.json</c>).
/// Relative paths are taken from the current directory.
/// </remarks>
public static class RewardAssemblies
{
    static readonly ConcurrentDictionary<string, Lazy<Loaded>> Cache = new(StringComparer.Ordinal);

    /// <summary>The name a reward class is registered under: its <see cref="RewardNameAttribute"/>, or the class name in snake_case.</summary>
    public static string RegisteredName(Type type) =>
        type.GetCustomAttribute<RewardNameAttribute>()?.Name is { Length: > 0 } name ? name : SnakeCase(type.Name);

    /// <summary>Every reward class of the assembly at <paramref name="path"/>, by name.</summary>
    /// <param name="path">The assembly (a <c>.dll</c>); relative to the current directory.</param>
    /// <param name="field">Where the path was given, for errors (<c>rewards[1].assembly</c>, <c>--reward-assembly</c>).</param>
    /// <exception cref="RewardAssemblyException">The file is missing or is not a .NET assembly, or its types cannot be loaded.</exception>
    public static IReadOnlyList<CustomRewardType> Find(string path, string field = "assembly") => Load(path, field).Rewards;

    /// <summary>The reward class registered as <paramref name="name"/> in the assembly at <paramref name="path"/>.</summary>
    /// <exception cref="RewardAssemblyException">As <see cref="Find"/>; or the assembly has no reward of that name (the message lists those it has).</exception>
    public static CustomRewardType Get(string path, string name, string field = "assembly")
    {
        var loaded = Load(path, field);
        var matches = loaded.Rewards.Where(r => r.Name == name).ToList();
        if (matches.Count == 1) return matches[0];
        if (matches.Count > 1)
            throw new RewardAssemblyException(field, $"{loaded.Path}: {matches.Count} classes are registered as '{name}' " +
                $"({string.Join(", ", matches.Select(m => m.Type.FullName))}); give each its own [RewardName]");
        throw new RewardAssemblyException(field, $"{loaded.Path}: no reward '{name}' in it; {Describe(loaded)}");
    }

    /// <summary>
    /// Creates the reward <paramref name="name"/> of the assembly at <paramref name="path"/> with <paramref name="options"/>
    /// (as <see cref="RewardRegistry.Create(string, IReadOnlyDictionary{string, string}?)"/>: the option <c>name</c> renames it,
    /// options the reward's constructor did not read are an error).
    /// </summary>
    /// <exception cref="RewardAssemblyException">As <see cref="Get"/>; or the reward cannot be created (its constructor failed).</exception>
    /// <exception cref="RewardConfigException">An option the reward did not read.</exception>
    public static IReward Create(string path, string name, IReadOnlyDictionary<string, string>? options = null, string field = "assembly")
    {
        var type = Get(path, name, field);
        return new RewardRegistry().Register(name, o => Construct(type, o, field)).Create(name, options);
    }

    /// <summary>
    /// Registers every reward of the assembly at <paramref name="path"/> in <paramref name="registry"/> under its name, except names
    /// the registry already has (R1Sharp's own rewards keep theirs; name such a reward with its assembly in a <see cref="RewardSpec"/>).
    /// </summary>
    /// <exception cref="RewardAssemblyException">As <see cref="Find"/>.</exception>
    public static RewardRegistry RegisterAssembly(this RewardRegistry registry, string path, string field = "assembly")
    {
        foreach (var type in Find(path, field).Where(t => !registry.Contains(t.Name))) registry.Register(type.Name, o => Construct(type, o, field));
        return registry;
    }

    /// <summary>One instance of <paramref name="type"/>: its <see cref="RewardOptions"/> constructor, or its parameterless one.</summary>
    static IReward Construct(CustomRewardType type, RewardOptions options, string field)
    {
        string what = $"{type.AssemblyPath}: reward '{type.Name}' ({type.Type.FullName})";
        var withOptions = type.Type.GetConstructor([typeof(RewardOptions)]);
        var plain = type.Type.GetConstructor(Type.EmptyTypes);
        if (withOptions is null && plain is null)
            throw new RewardAssemblyException(field, $"{what} has no public constructor taking RewardOptions or nothing");
        IReward reward;
        try
        {
            reward = (IReward)(withOptions is not null ? withOptions.Invoke([options]) : plain!.Invoke(null));
        }
        catch (TargetInvocationException e) when (e.InnerException is { } inner)
        {
            throw new RewardAssemblyException(field, $"{what}: its constructor failed: {inner.GetType().Name}: {inner.Message}", inner);
        }
        string own;
        try { own = reward.Name; }
        catch (Exception e) { throw new RewardAssemblyException(field, $"{what}: its Name failed: {e.GetType().Name}: {e.Message}", e); }
        // Metrics, logs and the evaluation know the reward by the name the config gave it.
        return own == type.Name ? reward : new RewardRegistry.RenamedReward(reward, type.Name);
    }

    static Loaded Load(string path, string field)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        var entry = Cache.GetOrAdd(full, p => new Lazy<Loaded>(() => LoadNew(p, field), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return entry.Value;
        }
        catch (RewardAssemblyException e)
        {
            Cache.TryRemove(new KeyValuePair<string, Lazy<Loaded>>(full, entry)); // a file fixed later is tried again
            throw e.Field == field ? e : new RewardAssemblyException(field, e.Problem, e.InnerException);
        }
    }

    static Loaded LoadNew(string path, string field)
    {
        if (Directory.Exists(path))
            throw new RewardAssemblyException(field, $"{path}: is a folder; give the reward assembly's .dll file");
        if (!File.Exists(path))
            throw new RewardAssemblyException(field, $"{path}: file not found (build the reward project first; relative paths are taken from {Environment.CurrentDirectory})");
        try
        {
            AssemblyName.GetAssemblyName(path);
        }
        catch (BadImageFormatException e)
        {
            throw new RewardAssemblyException(field, $"{path}: not a .NET assembly ({FirstLine(e.Message)})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RewardAssemblyException(field, $"{path}: cannot be read: {e.Message}", e);
        }

        Assembly assembly;
        try
        {
            assembly = new RewardLoadContext(path).LoadFromAssemblyPath(path);
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException or InvalidOperationException)
        {
            throw new RewardAssemblyException(field, $"{path}: cannot be loaded: {FirstLine(e.Message)}", e);
        }

        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            var loaded = e.Types.OfType<Type>().ToArray();
            var rewardTypes = Rewards(loaded, path);
            if (rewardTypes.Count == 0)
            {
                string why = e.LoaderExceptions.FirstOrDefault(x => x is not null)?.Message ?? e.Message;
                throw new RewardAssemblyException(field, $"{path}: its classes cannot be loaded: {FirstLine(why)} " +
                    "(is a dependency of the assembly missing from its folder?)", e);
            }
            return new Loaded(path, rewardTypes, Foreign(loaded));
        }
        return new Loaded(path, Rewards(types, path), Foreign(types));
    }

    static List<CustomRewardType> Rewards(IEnumerable<Type> types, string path) =>
        [.. types.Where(t => t is { IsClass: true, IsAbstract: false, ContainsGenericParameters: false } && typeof(IReward).IsAssignableFrom(t))
                 .Select(t => new CustomRewardType(RegisteredName(t), t, path))
                 .OrderBy(r => r.Name, StringComparer.Ordinal)];

    /// <summary>Classes implementing an IReward that is not this one (the assembly brought its own copy of R1Sharp.Rewards).</summary>
    static List<Type> Foreign(IEnumerable<Type> types) =>
        [.. types.Where(t => t.IsClass && !typeof(IReward).IsAssignableFrom(t)
                             && t.GetInterfaces().Any(i => i.FullName == typeof(IReward).FullName))];

    static string Describe(Loaded loaded)
    {
        if (loaded.Rewards.Count > 0)
            return "rewards found: " + string.Join(", ", loaded.Rewards.Select(r => $"{r.Name} ({r.Type.FullName})"));
        if (loaded.Foreign.Count > 0)
            return $"it has classes implementing another copy of {typeof(IReward).FullName} ({string.Join(", ", loaded.Foreign.Select(t => t.FullName))}): " +
                   $"reference the R1Sharp.Rewards package this application uses ({typeof(IReward).Assembly.GetName().Version})";
        return $"it has no class implementing {typeof(IReward).FullName}";
    }

    static string FirstLine(string message)
    {
        int end = message.IndexOfAny(['\r', '\n']);
        return (end < 0 ? message : message[..end]).Trim();
    }

    /// <summary><c>MyReward</c> → <c>my_reward</c>, <c>HTTPCheck2</c> → <c>http_check2</c>.</summary>
    internal static string SnakeCase(string name)
    {
        int tick = name.IndexOf('`');
        if (tick >= 0) name = name[..tick];
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0)
            {
                char prev = name[i - 1];
                bool nextLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (char.IsLower(prev) || char.IsDigit(prev) || (char.IsUpper(prev) && nextLower)) sb.Append('_');
            }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    sealed record Loaded(string Path, IReadOnlyList<CustomRewardType> Rewards, IReadOnlyList<Type> Foreign);

    /// <summary>
    /// The load context of one reward assembly: R1Sharp's assemblies and whatever the application can load come from the
    /// application (one <see cref="IReward"/> type); the assembly's other dependencies from its own folder.
    /// </summary>
    sealed class RewardLoadContext(string path) : AssemblyLoadContext($"R1Sharp reward assembly {System.IO.Path.GetFileName(path)}")
    {
        readonly AssemblyDependencyResolver _resolver = new(path);

        static readonly Lazy<HashSet<string>> ApplicationAssemblies = new(() =>
            new HashSet<string>(((AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string) ?? "")
                .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(System.IO.Path.GetFileNameWithoutExtension)!, StringComparer.OrdinalIgnoreCase));

        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name is { } simple && IsShared(simple)) return null; // the application's copy
            var file = _resolver.ResolveAssemblyToPath(name);
            return file is null ? null : LoadFromAssemblyPath(file);
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            var file = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
            return file is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(file);
        }

        static bool IsShared(string name) =>
            name.StartsWith("R1Sharp.", StringComparison.OrdinalIgnoreCase)
            || ApplicationAssemblies.Value.Contains(name)
            || Default.Assemblies.Any(a => string.Equals(a.GetName().Name, name, StringComparison.OrdinalIgnoreCase));
    }
}
