namespace Sagas.Modules.Api;

/// <summary>Every list in the API pages the same way: <c>?page=1&amp;pageSize=50</c>, at most 500 rows a page.</summary>
public readonly record struct Paging(int Page, int PageSize)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;

    public int Skip => (Page - 1) * PageSize;

    public static bool TryCreate(int? page, int? pageSize, Dictionary<string, string[]> errors, out Paging paging, string prefix = "")
    {
        paging = new Paging(page ?? 1, pageSize ?? DefaultPageSize);
        if (paging.Page < 1)
            errors[prefix + "page"] = ["page starts at 1."];
        if (paging.PageSize is < 1 or > MaxPageSize)
            errors[prefix + "pageSize"] = [$"pageSize must be between 1 and {MaxPageSize}."];
        return errors.Count == 0;
    }

    /// <summary>
    /// The total that a page of <paramref name="rowsOnPage"/> rows already proves, so that the count query can be
    /// skipped: a page that is neither full nor empty ends the list, and an empty first page is an empty list. Null
    /// when only a count can tell (a full page, or an empty page past the first).
    /// </summary>
    public int? TotalShownBy(int rowsOnPage) => rowsOnPage switch
    {
        0 when Page == 1 => 0,
        > 0 when rowsOnPage < PageSize => Skip + rowsOnPage,
        _ => null,
    };
}

public sealed record PageOf<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);
