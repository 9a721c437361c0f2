using System.Runtime.InteropServices;

namespace R1Sharp.Rewards.Code;

/// <summary>
/// The seccomp filter bubblewrap installs (<c>--seccomp FD</c>) right before it executes the program: a classic-BPF
/// program built with libseccomp (Debian package <c>libseccomp2</c>, loaded as <c>libseccomp.so.2</c>; no compiler at
/// run time). Everything is allowed except the system calls below, which fail with EPERM (the kernel attack surface
/// a competitive-programming solution never needs: tracing, io_uring, keyrings, eBPF, perf, userfaultfd, mounts and
/// namespaces, modules, kexec, raw I/O ports, clock setting…), plus:
/// <list type="bullet">
/// <item><c>clone</c> with any CLONE_NEW* flag → EPERM, <c>clone3</c> → ENOSYS (its flags live in memory a filter
/// cannot read; glibc then falls back to <c>clone</c>);</item>
/// <item><c>socket</c> of any family but AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK → EAFNOSUPPORT (AF_VSOCK, for one,
/// is not confined by the network namespace: in a virtual machine it reaches the hypervisor's services);</item>
/// <item><c>ioctl</c> TIOCSTI / TIOCLINUX (typing into a terminal) → EPERM;</item>
/// <item>system calls of another ABI (i386 <c>int 0x80</c>, x32) kill the process: the filter is built for the
/// native architecture only, and an x86_64 filter that let i386 calls through would check the wrong numbers.</item>
/// </list>
/// Built only for x86_64 (<see cref="Build"/> says why not elsewhere); the caller then runs without a filter and warns.
/// </summary>
internal static class SeccompFilter
{
    /// <summary>System calls that fail with EPERM inside the sandbox. Names libseccomp does not know on this
    /// architecture are skipped.</summary>
    internal static readonly string[] Denied =
    [
        // Tracing other processes and reading their memory.
        "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
        // io_uring: a large, often-exploited interface, and it bypasses per-syscall filtering.
        "io_uring_setup", "io_uring_enter", "io_uring_register",
        // Kernel keyrings.
        "keyctl", "add_key", "request_key",
        // eBPF, perf events, userfaultfd (a classic exploitation primitive).
        "bpf", "perf_event_open", "userfaultfd",
        // Mounts, namespaces and roots.
        "mount", "umount2", "unshare", "setns", "pivot_root", "chroot",
        "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
        // Kernel code and machine state.
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
        "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "vhangup", "iopl", "ioperm",
        "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
        // File handles (escape a bind mount by inode), fanotify, obsolete calls.
        "open_by_handle_at", "name_to_handle_at", "fanotify_init", "lookup_dcookie",
        "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl",
    ];

    private const uint ActAllow = 0x7fff0000;
    private const uint ActKillProcess = 0x80000000;
    private const uint ErrnoBase = 0x00050000;
    private const int Eperm = 1, Enosys = 38, Eafnosupport = 97;
    private const int AttrActBadArch = 2;
    private const uint ArchX86_64 = 0xC000003E;

    private const ulong CloneNewFlags = 0x00020000 /* NEWNS */ | 0x02000000 /* NEWCGROUP */ | 0x04000000 /* NEWUTS */ |
                                        0x08000000 /* NEWIPC */ | 0x10000000 /* NEWUSER */ | 0x20000000 /* NEWPID */ |
                                        0x40000000 /* NEWNET */ | 0x00000080 /* NEWTIME */;

    /// <summary>Socket families a program may open: AF_UNIX, AF_INET, AF_INET6, AF_NETLINK.</summary>
    internal static readonly int[] AllowedSocketFamilies = [1, 2, 10, 16];
    private const int SocketFamilyCount = 64; // AF_MAX is 46 in Linux 6.x; families at or above 64 are refused too

    private const ulong TiocSti = 0x5412, TiocLinux = 0x541C;

    /// <summary>
    /// The compiled filter (raw BPF, as <c>seccomp_export_bpf</c> writes it), or null with the reason when it cannot
    /// be built here (not x86_64, libseccomp2 missing).
    /// </summary>
    internal static (byte[]? Bpf, string? WhyNot) Build()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return (null, $"the seccomp filter is built for x86_64 only, this process is {RuntimeInformation.ProcessArchitecture}");
        IntPtr ctx = IntPtr.Zero;
        try
        {
            if (Native.seccomp_arch_native() != ArchX86_64)
                return (null, $"libseccomp reports native architecture 0x{Native.seccomp_arch_native():X8}, not x86_64");
            ctx = Native.seccomp_init(ActAllow);
            if (ctx == IntPtr.Zero) return (null, "seccomp_init failed");
            Check(Native.seccomp_attr_set(ctx, AttrActBadArch, ActKillProcess), "seccomp_attr_set(ACT_BADARCH)");

            foreach (var name in Denied)
            {
                int nr = Native.seccomp_syscall_resolve_name(name);
                if (nr < 0) continue; // not a system call on this architecture (libseccomp's pseudo numbers are negative)
                Check(Native.seccomp_rule_add_array(ctx, ErrnoBase | Eperm, nr, 0, null), $"rule for {name}");
            }

            int clone = Resolve("clone");
            for (int bit = 0; bit < 64; bit++)
            {
                ulong flag = 1UL << bit;
                if ((CloneNewFlags & flag) == 0) continue;
                Check(Native.seccomp_rule_add_array(ctx, ErrnoBase | Eperm, clone, 1,
                    [new ScmpArgCmp { Arg = 0, Op = CmpMaskedEq, DatumA = flag, DatumB = flag }]), "clone flags rule");
            }
            Check(Native.seccomp_rule_add_array(ctx, ErrnoBase | Enosys, Resolve("clone3"), 0, null), "clone3 rule");

            int socket = Resolve("socket");
            for (int family = 0; family < SocketFamilyCount; family++)
            {
                if (AllowedSocketFamilies.Contains(family)) continue;
                Check(Native.seccomp_rule_add_array(ctx, ErrnoBase | Eafnosupport, socket, 1,
                    [new ScmpArgCmp { Arg = 0, Op = CmpEq, DatumA = (ulong)family }]), "socket family rule");
            }
            Check(Native.seccomp_rule_add_array(ctx, ErrnoBase | Eafnosupport, socket, 1,
                [new ScmpArgCmp { Arg = 0, Op = CmpGe, DatumA = SocketFamilyCount }]), "socket family rule");

            int ioctl = Resolve("ioctl");
            foreach (var request in (ulong[])[TiocSti, TiocLinux])
                Check(Native.seccomp_rule_add_array(ctx, ErrnoBase | Eperm, ioctl, 1,
                    [new ScmpArgCmp { Arg = 1, Op = CmpMaskedEq, DatumA = 0xFFFFFFFF, DatumB = request }]), "ioctl rule");

            return (Export(ctx), null);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return (null, $"libseccomp.so.2 could not be loaded ({e.Message.Split('\n')[0]}); install the Debian/Ubuntu package 'libseccomp2'");
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return (null, $"the filter could not be built: {e.Message}");
        }
        finally
        {
            if (ctx != IntPtr.Zero) Native.seccomp_release(ctx);
        }
    }

    private static int Resolve(string name)
    {
        int nr = Native.seccomp_syscall_resolve_name(name);
        return nr >= 0 ? nr : throw new InvalidOperationException($"libseccomp does not know the system call {name}");
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new InvalidOperationException($"libseccomp: {what} failed with {rc}");
    }

    /// <summary>seccomp_export_bpf writes to a file descriptor: a pipe would need a reader thread, so a temporary file.</summary>
    private static byte[] Export(IntPtr ctx)
    {
        string path = Path.Combine(Path.GetTempPath(), "r1sharp-seccomp-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
            {
                int rc = Native.seccomp_export_bpf(ctx, (int)file.SafeFileHandle.DangerousGetHandle());
                Check(rc, "seccomp_export_bpf");
            }
            var bpf = File.ReadAllBytes(path);
            if (bpf.Length == 0 || bpf.Length % 8 != 0) throw new InvalidOperationException($"libseccomp exported {bpf.Length} bytes, not whole BPF instructions");
            return bpf;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private const int CmpEq = 4, CmpGe = 5, CmpMaskedEq = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct ScmpArgCmp
    {
        public uint Arg;
        public int Op;
        public ulong DatumA;
        public ulong DatumB;
    }

    private static class Native
    {
        private const string Lib = "libseccomp.so.2";

        [DllImport(Lib)] internal static extern IntPtr seccomp_init(uint defAction);
        [DllImport(Lib)] internal static extern void seccomp_release(IntPtr ctx);
        [DllImport(Lib)] internal static extern int seccomp_attr_set(IntPtr ctx, int attr, uint value);
        [DllImport(Lib)] internal static extern uint seccomp_arch_native();
        [DllImport(Lib)] internal static extern int seccomp_syscall_resolve_name([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
        [DllImport(Lib)] internal static extern int seccomp_rule_add_array(IntPtr ctx, uint action, int syscall, uint argCount, ScmpArgCmp[]? args);
        [DllImport(Lib)] internal static extern int seccomp_export_bpf(IntPtr ctx, int fd);
    }
}
