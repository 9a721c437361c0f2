// Build-time fix for TorchSharp 0.107's Scalar lifetime race (see docs/torchsharp-native.md, "Scalars").
//
// A TorchSharp Scalar is a native c10::Scalar that only its finalizer frees, and TorchSharp reads a Scalar's handle
// and calls libtorch without keeping the managed object alive: every temporary one (x * 0.5, and the alpha = 1 that
// Tensor.add(Tensor) passes on every a + b) is garbage as soon as its handle is read. When another thread starts a
// collection during that call, the finalizer thread frees the c10::Scalar while libtorch reads it, which fails as
// "Expected false to be true, but got false" from c10::Scalar::toFloat (or reads a wrong number).
//
// The task rewrites TorchSharp.Scalar's finalizer in TorchSharp.dll:
//   ~Scalar() { if (R1SharpFinalizeHook is { } hook) { if (handle != 0) { hook(handle); handle = 0; } } else Dispose(false); }
// and adds the public static field Action<IntPtr> R1SharpFinalizeHook. R1Sharp.Model sets the hook when it loads
// (TorchSharpScalars.cs): it frees a finalized Scalar's native object only seconds later, after any call that could
// still read it has returned. Without the hook (another program loading the patched file) nothing changes.
// Idempotent: a TorchSharp.dll that has the field is left alone. The file is replaced through a temporary file.
using System;
using System.IO;
using System.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Mono.Cecil;
using Mono.Cecil.Cil;

public class PatchTorchSharpScalars : Task
{
    public const string HookName = "R1SharpFinalizeHook";

    [Required] public string Directory { get; set; } = "";

    public override bool Execute()
    {
        string path = Path.Combine(Directory, "TorchSharp.dll");
        if (!File.Exists(path)) return true;
        try
        {
            string temp = path + ".r1sharp-patch";
            using (var assembly = AssemblyDefinition.ReadAssembly(path, new ReaderParameters { ReadWrite = false, InMemory = true }))
            {
                var module = assembly.MainModule;
                var scalar = module.GetType("TorchSharp.Scalar");
                if (scalar is null)
                {
                    Log.LogWarning($"{path}: no type TorchSharp.Scalar; left as is (is this TorchSharp 0.107?)");
                    return true;
                }
                if (scalar.Fields.Any(f => f.Name == HookName)) return true; // already patched
                var handle = scalar.Fields.Single(f => f.Name == "handle" && f.FieldType.FullName == "System.IntPtr");
                var dispose = scalar.Methods.Single(m => m.Name == "Dispose" && m.Parameters.Count == 1 && m.Parameters[0].ParameterType.FullName == "System.Boolean");
                var finalize = scalar.Methods.Single(m => m.Name == "Finalize" && m.Parameters.Count == 0);

                // System.Action<IntPtr> and its Invoke, from the assembly TorchSharp takes System.Object from.
                var open = new TypeReference("System", "Action`1", module, module.TypeSystem.Object.Scope);
                open.GenericParameters.Add(new GenericParameter(open));
                var action = new GenericInstanceType(open);
                action.GenericArguments.Add(module.TypeSystem.IntPtr);
                var invoke = new MethodReference("Invoke", module.TypeSystem.Void, action) { HasThis = true };
                invoke.Parameters.Add(new ParameterDefinition(open.GenericParameters[0]));
                var hook = new FieldDefinition(HookName, FieldAttributes.Public | FieldAttributes.Static, module.ImportReference(action));
                scalar.Fields.Add(hook);

                var body = new MethodBody(finalize);
                var il = body.GetILProcessor();
                var original = il.Create(OpCodes.Ldarg_0);
                var done = il.Create(OpCodes.Ret);
                il.Emit(OpCodes.Ldsfld, hook);
                il.Emit(OpCodes.Brfalse, original);
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldfld, handle);
                il.Emit(OpCodes.Brfalse, done);       // nothing to free
                il.Emit(OpCodes.Ldsfld, hook);
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldfld, handle);
                il.Emit(OpCodes.Callvirt, module.ImportReference(invoke));
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldc_I4_0);
                il.Emit(OpCodes.Conv_I);
                il.Emit(OpCodes.Stfld, handle);
                il.Emit(OpCodes.Br, done);
                il.Append(original);
                il.Emit(OpCodes.Ldc_I4_0);
                il.Emit(OpCodes.Call, dispose);
                il.Append(done);
                finalize.Body = body;
                assembly.Write(temp);
            }
            File.Replace(temp, path, null); // rename(2): a new file, so a hard link into the NuGet cache is never written through
            Log.LogMessage(MessageImportance.Normal, $"{path}: Scalar finalizer hooked ({HookName}).");
            return true;
        }
        catch (Exception e)
        {
            Log.LogError($"{path}: could not patch TorchSharp's Scalar finalizer: {e.Message}");
            return false;
        }
    }
}
