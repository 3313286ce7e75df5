using System.Runtime.CompilerServices;

namespace Sagas.LlmJobs.Providers.Simulated;

/// <summary>
/// Stable pseudo-random numbers from text: FNV-1a then SplitMix64. Unlike <see cref="string.GetHashCode()"/> and
/// <see cref="Random"/>, the values are the same in every process and on every machine, so a seed reproduces a run.
/// </summary>
internal static class DeterministicRandom
{
    public static ulong Hash(int seed, string salt, string key)
    {
        var hash = 14695981039346656037UL;
        hash = Mix((ulong)(uint)seed, hash);
        foreach (var c in salt)
            hash = (hash ^ c) * 1099511628211UL;
        hash = (hash ^ 0xFF) * 1099511628211UL;
        foreach (var c in key)
            hash = (hash ^ c) * 1099511628211UL;
        return SplitMix(hash);
    }

    /// <summary>The <paramref name="index"/>-th uniform number in [0, 1) of the stream named by <paramref name="hash"/>.</summary>
    public static double Uniform(ulong hash, long index) =>
        (SplitMix(hash + (0x9E3779B97F4A7C15UL * (ulong)(index + 1))) >> 11) * (1.0 / (1UL << 53));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong value, ulong hash)
    {
        for (var i = 0; i < 8; i++)
        {
            hash = (hash ^ (value & 0xFF)) * 1099511628211UL;
            value >>= 8;
        }

        return hash;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SplitMix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
