using System.Globalization;

namespace R1Sharp.Rewards.Code;

/// <summary>
/// Per-run memory cgroups: one group per run, created before the program starts, holding every process of the run
/// (the launcher's shell writes its own pid into the group's <c>cgroup.procs</c> before it executes the sandbox),
/// removed after. The kernel charges the group for everything the run holds — process memory, memfd and tmpfs pages,
/// page cache, and (cgroup v2) kernel memory — and OOM-kills inside the group when the limit is reached.
/// <para>cgroup v2 is preferred: a group under a cgroup2 folder whose <c>cgroup.subtree_control</c> has (or accepts)
/// <c>memory</c> — the folder given in <see cref="CodeSandboxOptions.CgroupParent"/>, this process's own group, or the
/// hierarchy's root (as root on a systemd host). Limits: <c>memory.max</c>, <c>memory.swap.max</c> = 0,
/// <c>memory.oom.group</c> = 1. Else the cgroup v1 memory controller, in a child of this process's own memory group:
/// <c>memory.limit_in_bytes</c> (and <c>memory.memsw.limit_in_bytes</c>). Else none: the sandbox's watchdog.</para>
/// </summary>
internal sealed class CgroupMemory
{
    private const string Prefix = "r1sharp-run-";
    private static long _counter;

    private CgroupMemory(int version, string parent)
    {
        Version = version;
        Parent = parent;
    }

    /// <summary>1 or 2.</summary>
    internal int Version { get; }

    /// <summary>The folder the per-run groups are created in.</summary>
    internal string Parent { get; }

    internal MemoryEnforcement Enforcement => Version == 2 ? MemoryEnforcement.CgroupV2 : MemoryEnforcement.CgroupV1;

    /// <summary>
    /// Finds a place for per-run memory groups, checking each candidate by creating, limiting and removing a group.
    /// Null when none works, with every candidate's reason in <paramref name="whyNot"/>.
    /// </summary>
    internal static CgroupMemory? Detect(string? requestedParent, out string whyNot) =>
        Detect(requestedParent, ReadOrEmpty("/proc/self/mountinfo"), ReadOrEmpty("/proc/self/cgroup"), out whyNot);

    /// <summary><see cref="Detect(string?, out string)"/> with the two /proc files given (tests).</summary>
    internal static CgroupMemory? Detect(string? requestedParent, string mountinfo, string procCgroup, out string whyNot)
    {
        var reasons = new List<string>();
        foreach (var (version, folder) in Candidates(requestedParent, mountinfo, procCgroup, reasons))
        {
            var candidate = new CgroupMemory(version, folder);
            string? error = candidate.Probe();
            if (error is null)
            {
                whyNot = "";
                candidate.RemoveStaleGroups();
                return candidate;
            }
            reasons.Add($"cgroup v{version} {folder}: {error}");
        }
        whyNot = reasons.Count == 0 ? "no cgroup memory controller is mounted" : string.Join("; ", reasons);
        return null;
    }

    /// <summary>Where groups could go, best first (see the class summary).</summary>
    internal static IEnumerable<(int Version, string Folder)> Candidates(string? requestedParent, string mountinfo, string procCgroup, List<string> reasons)
    {
        if (requestedParent is not null)
        {
            if (File.Exists(Path.Combine(requestedParent, "cgroup.controllers"))) yield return (2, requestedParent);
            else if (File.Exists(Path.Combine(requestedParent, "memory.limit_in_bytes"))) yield return (1, requestedParent);
            else reasons.Add($"{nameof(CodeSandboxOptions.CgroupParent)} '{requestedParent}' is neither a cgroup v2 folder nor a cgroup v1 memory folder");
            yield break;
        }

        var mounts = ParseMountinfo(mountinfo);
        var memberships = ParseProcCgroup(procCgroup);
        var v2 = mounts.FirstOrDefault(m => m.FsType == "cgroup2");
        if (v2 is not null && memberships.TryGetValue("", out var v2Path) && Map(v2, v2Path) is { } own)
        {
            if (HasMemory(own, "cgroup.subtree_control")) yield return (2, own);
            if (v2.MountPoint != own)
            {
                if (HasMemory(v2.MountPoint, "cgroup.controllers")) yield return (2, v2.MountPoint);
                else reasons.Add($"cgroup v2 {v2.MountPoint}: no memory controller (cgroup.controllers)");
            }
            else if (!HasMemory(own, "cgroup.subtree_control"))
            {
                if (HasMemory(own, "cgroup.controllers")) yield return (2, own); // Probe tries to enable it
                else reasons.Add($"cgroup v2 {own}: no memory controller (cgroup.controllers)");
            }
        }
        else if (v2 is null)
        {
            reasons.Add("no cgroup2 file system mounted");
        }

        var v1 = mounts.FirstOrDefault(m => m.FsType == "cgroup" && m.SuperOptions.Split(',').Contains("memory"));
        var v1Path = memberships.FirstOrDefault(kv => kv.Key.Split(',').Contains("memory")).Value;
        if (v1 is not null && v1Path is not null && Map(v1, v1Path) is { } v1Own) yield return (1, v1Own);
    }

    /// <summary>Creates and limits one group, moves a shell into it (as each run's wrapper will) and removes it;
    /// null when all that worked, else why not.</summary>
    private string? Probe()
    {
        try
        {
            if (Version == 2 && !HasMemory(Parent, "cgroup.subtree_control"))
                File.WriteAllText(Path.Combine(Parent, "cgroup.subtree_control"), "+memory"); // works on a folder without processes
            var run = Create(64L << 20);
            try
            {
                var psi = new System.Diagnostics.ProcessStartInfo(SandboxLauncher.Which("sh") ?? "/bin/sh")
                {
                    UseShellExecute = false,
                    RedirectStandardError = true,
                };
                foreach (var a in (string[])["-c", "echo $$ >\"$1\"", "sh", run.ProcsFile]) psi.ArgumentList.Add(a);
                using var shell = System.Diagnostics.Process.Start(psi)!;
                string error = shell.StandardError.ReadToEnd();
                if (!shell.WaitForExit(10_000)) return "a test process did not finish";
                if (shell.ExitCode != 0) return $"a process cannot join a group: {error.Trim()}";
            }
            finally
            {
                run.Dispose();
            }
            return run.Removed ? null : "a test group could not be removed";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            return e.Message;
        }
    }

    /// <summary>A fresh group limited to <paramref name="limitBytes"/>; throws <see cref="IOException"/> or
    /// <see cref="UnauthorizedAccessException"/> when it cannot be made.</summary>
    internal CgroupRun Create(long limitBytes)
    {
        string name = $"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}";
        string path = Path.Combine(Parent, name);
        Directory.CreateDirectory(path);
        var run = new CgroupRun(this, path);
        try
        {
            string limit = limitBytes.ToString(CultureInfo.InvariantCulture);
            if (Version == 2)
            {
                File.WriteAllText(Path.Combine(path, "memory.max"), limit);
                TryWrite(Path.Combine(path, "memory.swap.max"), "0");
                TryWrite(Path.Combine(path, "memory.oom.group"), "1");
            }
            else
            {
                File.WriteAllText(Path.Combine(path, "memory.limit_in_bytes"), limit);
                TryWrite(Path.Combine(path, "memory.memsw.limit_in_bytes"), limit);
            }
            return run;
        }
        catch
        {
            run.Dispose();
            throw;
        }
    }

    /// <summary>Groups of earlier processes that died before removing theirs (empty ones only: rmdir refuses others).</summary>
    private void RemoveStaleGroups()
    {
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(Parent, Prefix + "*"))
            {
                var rest = Path.GetFileName(dir)[Prefix.Length..];
                int dash = rest.IndexOf('-');
                if (dash > 0 && int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) &&
                    pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                {
                    try { Directory.Delete(dir); }
                    catch (IOException) { }
                    catch (UnauthorizedAccessException) { }
                }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static void TryWrite(string path, string value)
    {
        try { if (File.Exists(path)) File.WriteAllText(path, value); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static bool HasMemory(string folder, string file)
    {
        try { return File.ReadAllText(Path.Combine(folder, file)).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Contains("memory"); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    internal static string ReadOrEmpty(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    internal sealed record Mount(string Root, string MountPoint, string FsType, string SuperOptions);

    /// <summary>Lines of /proc/self/mountinfo: <c>id parent maj:min root mountpoint options [tags] - fstype source superoptions</c>.</summary>
    internal static List<Mount> ParseMountinfo(string text)
    {
        var mounts = new List<Mount>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            int dash = Array.IndexOf(fields, "-");
            if (dash < 6 || dash + 1 >= fields.Length) continue;
            mounts.Add(new Mount(Unescape(fields[3]), Unescape(fields[4]), fields[dash + 1],
                dash + 3 < fields.Length ? fields[dash + 3] : ""));
        }
        return mounts;
    }

    /// <summary>Lines of /proc/self/cgroup, <c>id:controllers:path</c>, as controllers → path ("" for cgroup v2).</summary>
    internal static Dictionary<string, string> ParseProcCgroup(string text)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length == 3) map.TryAdd(parts[1], parts[2]);
        }
        return map;
    }

    /// <summary>The folder of <paramref name="groupPath"/> in <paramref name="mount"/>, or null when the mount does
    /// not show it (a mount of a subtree the group is outside of).</summary>
    internal static string? Map(Mount mount, string groupPath)
    {
        string root = mount.Root.TrimEnd('/');
        if (root.Length > 0 && groupPath != root && !groupPath.StartsWith(root + "/", StringComparison.Ordinal)) return null;
        string relative = groupPath[root.Length..].TrimStart('/');
        return relative.Length == 0 ? mount.MountPoint : Path.Combine(mount.MountPoint, relative);
    }

    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}

/// <summary>One run's memory group.</summary>
internal sealed class CgroupRun : IDisposable
{
    private readonly CgroupMemory _owner;

    internal CgroupRun(CgroupMemory owner, string path)
    {
        _owner = owner;
        Path = path;
    }

    /// <summary>The group's folder.</summary>
    internal string Path { get; }

    /// <summary>The file a process writes its pid into to join the group.</summary>
    internal string ProcsFile => System.IO.Path.Combine(Path, "cgroup.procs");

    /// <summary>True once the group's folder is gone.</summary>
    internal bool Removed { get; private set; }

    /// <summary>How many processes the kernel OOM-killed in the group (the limit was reached).</summary>
    internal long OomKills()
    {
        string file = _owner.Version == 2 ? "memory.events" : "memory.oom_control";
        long kills = 0;
        foreach (var line in CgroupMemory.ReadOrEmpty(System.IO.Path.Combine(Path, file)).Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] is ("oom_kill" or "oom_group_kill") &&
                long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long n))
                kills = Math.Max(kills, n);
        }
        return kills;
    }

    /// <summary>The most memory the group held, or null when the kernel does not say (cgroup v2 before Linux 5.19).</summary>
    internal long? PeakBytes()
    {
        string file = _owner.Version == 2 ? "memory.peak" : "memory.max_usage_in_bytes";
        return long.TryParse(CgroupMemory.ReadOrEmpty(System.IO.Path.Combine(Path, file)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : null;
    }

    /// <summary>Kills whatever is still in the group and removes it (retrying while the kernel finishes the kills).</summary>
    public void Dispose()
    {
        if (Removed) return;
        for (int attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                Directory.Delete(Path);
                Removed = true;
                return;
            }
            catch (DirectoryNotFoundException)
            {
                Removed = true;
                return;
            }
            catch (IOException) { KillMembers(); }
            catch (UnauthorizedAccessException) { return; }
            Thread.Sleep(attempt < 10 ? 2 : 20);
        }
    }

    private void KillMembers()
    {
        string kill = System.IO.Path.Combine(Path, "cgroup.kill");
        try
        {
            if (File.Exists(kill))
            {
                File.WriteAllText(kill, "1");
                return;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        foreach (var line in CgroupMemory.ReadOrEmpty(ProcsFile).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 1)
                _ = SandboxLauncher.NativeMethods.kill(pid, 9);
    }
}
