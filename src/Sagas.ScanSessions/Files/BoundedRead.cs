namespace Sagas.ScanSessions.Files;

/// <summary>Reads a stream into memory unless it is longer than a limit, without ever buffering more than limit + 1 bytes.</summary>
public static class BoundedRead
{
    /// <returns>The bytes, or null when the stream holds more than <paramref name="maxBytes"/>.</returns>
    public static async Task<byte[]?> ReadAsync(Stream stream, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek && stream.Length - stream.Position > maxBytes)
            return null;

        var initial = stream.CanSeek ? (int)Math.Min(stream.Length - stream.Position, maxBytes) : 81920;
        using var buffer = new MemoryStream(Math.Max(initial, 0));
        var chunk = new byte[81920];
        while (true)
        {
            var read = await stream.ReadAsync(chunk, cancellationToken);
            if (read == 0)
                return buffer.ToArray();
            if (buffer.Length + read > maxBytes)
                return null;
            buffer.Write(chunk, 0, read);
        }
    }
}
