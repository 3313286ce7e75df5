namespace Sagas.Storage.Content;

public sealed class ContentTooLargeException(long limit) : Exception($"The content is larger than the limit of {BoundedContent.Describe(limit)}.")
{
    public long Limit { get; } = limit;
}

/// <summary>Reads a stream into memory while counting, so a lying or missing Content-Length cannot exceed the limit.</summary>
public static class BoundedContent
{
    /// <summary>Arrays cannot hold more; limits above this are refused when configured.</summary>
    public const long MaxLimit = int.MaxValue - 64;

    public static async Task<(byte[] Buffer, int Length)> ReadAsync(Stream source, long maxBytes, long? declaredLength, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxBytes, MaxLimit);
        if (declaredLength > maxBytes)
            throw new ContentTooLargeException(maxBytes);

        var buffer = new byte[Math.Min(maxBytes, declaredLength is > 0 ? declaredLength.Value : 81920)];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length >= maxBytes)
                {
                    // Full at the limit: one more byte means too large.
                    var probe = new byte[1];
                    if (await source.ReadAsync(probe, cancellationToken) > 0)
                        throw new ContentTooLargeException(maxBytes);
                    return (buffer, length);
                }

                Array.Resize(ref buffer, (int)Math.Min(maxBytes, Math.Max(buffer.Length * 2L, 81920)));
            }

            var read = await source.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
                return (buffer, length);
            length += read;
        }
    }

    public static string Describe(long bytes) => bytes switch
    {
        >= 1024 * 1024 when bytes % (1024 * 1024) == 0 => $"{bytes / (1024 * 1024)} MiB",
        >= 1024 when bytes % 1024 == 0 => $"{bytes / 1024} KiB",
        _ => $"{bytes} bytes",
    };
}
