using System.Buffers;
using System.Runtime.CompilerServices;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// A pooled array for one clearing's working data (keys, orders, flags): at 100,000 bids a fresh one would land on
/// the large-object heap every call (ADR 0126). Cleared on rent, so it reads like a new array of <c>length</c>.
/// </summary>
internal readonly struct Scratch<T> : IDisposable
{
    public T[] Array { get; }
    public int Length { get; }

    public Scratch(int length)
    {
        Array = ArrayPool<T>.Shared.Rent(length);
        Length = length;
        System.Array.Clear(Array, 0, length);
    }

    public Span<T> Span => Array.AsSpan(0, Length);

    /// <summary>Returns the array; one holding references is cleared, so the pool keeps no bid alive.</summary>
    public void Dispose() => ArrayPool<T>.Shared.Return(Array, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
}
