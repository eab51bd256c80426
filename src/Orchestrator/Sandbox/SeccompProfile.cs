using System.Text.Json;

namespace CyAgents.Orchestrator.Sandbox;

/// <summary>
/// The seccomp profile every agent container runs under (ADR 0074): allow by default, deny a list. The list is what an
/// unprivileged process could still reach and a sandbox never needs — io_uring (a large, often-exploited kernel surface that
/// bypasses syscall filtering of the operations it performs), user namespaces (unshare, clone/CLONE_NEWUSER, setns), bpf,
/// perf_event_open, userfaultfd, the key store, ptrace — plus everything Docker's own default profile refuses for want of a
/// capability (module loading, mounts, clocks, reboot, swap, ...), kept as defence in depth beside CapDrop ALL.
/// </summary>
public static class SeccompProfile
{
    /// <summary>Calls refused with EPERM for every agent.</summary>
    public static readonly IReadOnlyList<string> Denied =
    [
        "io_uring_setup", "io_uring_enter", "io_uring_register",
        "unshare", "setns", "userfaultfd", "bpf", "perf_event_open", "keyctl", "add_key", "request_key",
        "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
        "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
        "mount_setattr", "open_by_handle_at", "name_to_handle_at", "fanotify_init",
        "init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms", "query_module",
        "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog",
        "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
        "iopl", "ioperm", "modify_ldt", "vm86", "vm86old", "lookup_dcookie", "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl",
        "vhangup", "mbind", "set_mempolicy", "move_pages", "migrate_pages",
    ];

    /// <summary>Namespace flags of clone(2) refused (a new user namespace would hand the process capabilities inside it).</summary>
    private static readonly long[] NamespaceFlags = [0x10000000 /* NEWUSER */, 0x00020000 /* NEWNS */, 0x20000000 /* NEWPID */,
        0x40000000 /* NEWNET */, 0x04000000 /* NEWUTS */, 0x08000000 /* NEWIPC */, 0x02000000 /* NEWCGROUP */];

    /// <summary>The profile as the engine takes it in <c>SecurityOpt</c> (<c>seccomp=&lt;json&gt;</c>).</summary>
    /// <param name="allowPtrace">For the debugged agent only: the debugger attaches with ptrace.</param>
    public static string Json(bool allowPtrace = false)
    {
        var denied = allowPtrace ? Denied : [.. Denied, "ptrace"];
        var rules = new List<object>
        {
            new { names = denied, action = "SCMP_ACT_ERRNO", errnoRet = 1 },
            // clone3 passes its flags in memory, where seccomp cannot look: ENOSYS makes libc fall back to clone(2), filtered below.
            new { names = new[] { "clone3" }, action = "SCMP_ACT_ERRNO", errnoRet = 38 },
        };
        foreach (var flag in NamespaceFlags)
            rules.Add(new
            {
                names = new[] { "clone" }, action = "SCMP_ACT_ERRNO", errnoRet = 1,
                args = new[] { new { index = 0, value = flag, valueTwo = flag, op = "SCMP_CMP_MASKED_EQ" } },
            });
        return JsonSerializer.Serialize(new
        {
            defaultAction = "SCMP_ACT_ALLOW",
            architectures = new[] { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM" },
            syscalls = rules,
        });
    }
}
