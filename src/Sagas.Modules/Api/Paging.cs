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
}

public sealed record PageOf<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);
