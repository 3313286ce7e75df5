namespace Sagas.Storage.Content;

/// <summary>Why one file could not be fetched. <see cref="Reason"/> is written for the person reading the report.</summary>
public enum FetchFailureKind
{
    /// <summary>The reference itself is unusable (bad id, bad URL, scheme not allowed).</summary>
    InvalidReference,
    NotFound,
    /// <summary>Credentials missing, expired or invalid (Drive 401).</summary>
    Unauthorized,
    /// <summary>Authenticated, but no access to this file.</summary>
    Forbidden,
    RateLimited,
    TooLarge,
    Timeout,
    /// <summary>The file exists but is of a kind that cannot be fetched as bytes (a folder, a Google Form...).</summary>
    Unsupported,
    /// <summary>The remote service failed (5xx, connection refused) after the client's own retries.</summary>
    Unavailable,
    Failed,
}

/// <param name="Retryable">
/// Whether trying the same file again later may succeed (rate limits, outages, timeouts); the caller decides how often.
/// </param>
public sealed record FetchFailure(FetchFailureKind Kind, string Reason, bool Retryable = false)
{
    public override string ToString() => $"{Kind}: {Reason}";
}

/// <summary>A fetched file, held in memory and never larger than the limit it was read with.</summary>
public sealed class FetchedFile
{
    private readonly byte[] _buffer;
    private readonly int _length;

    public FetchedFile(string name, string contentType, byte[] buffer, int length, string? link = null)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, buffer.Length);
        Name = name;
        ContentType = contentType;
        _buffer = buffer;
        _length = length;
        Link = link;
    }

    public FetchedFile(string name, string contentType, byte[] content, string? link = null)
        : this(name, contentType, content, content.Length, link)
    {
    }

    public string Name { get; }

    public string ContentType { get; }

    /// <summary>Where a person can open the original (Drive webViewLink, the URL, s3://bucket/key), if there is such a place.</summary>
    public string? Link { get; }

    public int Length => _length;

    public ReadOnlyMemory<byte> Content => _buffer.AsMemory(0, _length);

    /// <summary>A read-only, seekable stream over the content (PDF readers need to seek).</summary>
    public Stream OpenRead() => new MemoryStream(_buffer, 0, _length, writable: false);
}

/// <summary>Either a value or the reason there is none; expected per-file problems are results, not exceptions.</summary>
public sealed class FetchResult<T>
    where T : class
{
    private FetchResult(T? value, FetchFailure? failure)
    {
        Value = value;
        Failure = failure;
    }

    public T? Value { get; }

    public FetchFailure? Failure { get; }

    public bool Succeeded => Value is not null;

    public static implicit operator FetchResult<T>(T value) => new(value, null);

    public static implicit operator FetchResult<T>(FetchFailure failure) => new(null, failure);
}
