using System.Globalization;

namespace Sagas.Core.Http;

/// <summary>Go's <c>time.Duration</c> text (<c>1h2m3.5s</c>, <c>12ms</c>, <c>6m0s</c>, <c>250us</c>), which OpenAI uses for resets.</summary>
public static class GoDuration
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
            return false;

        var span = text.AsSpan().Trim();
        if (span is "0")
            return true;

        double totalMilliseconds = 0;
        var position = 0;
        while (position < span.Length)
        {
            var numberStart = position;
            while (position < span.Length && (char.IsAsciiDigit(span[position]) || span[position] == '.'))
                position++;
            if (position == numberStart)
                return false;
            if (!double.TryParse(span[numberStart..position], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
                return false;

            var unitStart = position;
            while (position < span.Length && !char.IsAsciiDigit(span[position]) && span[position] != '.')
                position++;
            var factor = span[unitStart..position] switch
            {
                "h" => 3_600_000d,
                "m" => 60_000d,
                "s" => 1_000d,
                "ms" => 1d,
                "us" or "µs" or "μs" => 0.001,
                "ns" => 0.000_001,
                _ => double.NaN,
            };
            if (double.IsNaN(factor))
                return false;
            totalMilliseconds += number * factor;
        }

        if (totalMilliseconds > TimeSpan.MaxValue.TotalMilliseconds)
            return false;
        duration = TimeSpan.FromMilliseconds(totalMilliseconds);
        return true;
    }
}
