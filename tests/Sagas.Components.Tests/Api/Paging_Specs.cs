using Sagas.Modules.Api;

namespace Sagas.Components.Tests.Api;

public class When_a_page_tells_the_total_by_itself
{
    [Theory]
    [InlineData(1, 50, 10, 10)]
    [InlineData(3, 5, 2, 12)]
    [InlineData(1, 50, 0, 0)]
    public void Should_give_the_total_without_a_count(int page, int pageSize, int rowsOnPage, int total) =>
        Assert.Equal(total, new Paging(page, pageSize).TotalShownBy(rowsOnPage));

    [Theory]
    [InlineData(1, 5, 5)]
    [InlineData(2, 5, 5)]
    [InlineData(4, 5, 0)]
    public void Should_leave_a_full_page_or_an_empty_later_page_to_a_count(int page, int pageSize, int rowsOnPage) =>
        Assert.Null(new Paging(page, pageSize).TotalShownBy(rowsOnPage));
}
