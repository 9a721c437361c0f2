using ScottPlot;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>
/// Line charts for the report, drawn with ScottPlot (SkiaSharp; the Linux native library comes from
/// SkiaSharp.NativeAssets.Linux.NoDependencies, so no fontconfig is needed) and returned as PNG <c>data:</c> URIs.
/// </summary>
internal static class PipelineReportPlots
{
    public const int Width = 760, Height = 400;

    /// <summary>Above this many points a curve is drawn faint and its centred moving average bold over it.</summary>
    private const int SmoothAbove = 40;

    /// <summary>A PNG of <paramref name="curves"/> against step, with a legend, as a <c>data:image/png;base64,…</c> URI.</summary>
    public static string LineChart(string title, string yLabel, IReadOnlyList<Curve> curves)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < curves.Count; i++)
        {
            var (steps, values, color) = (curves[i].Steps, curves[i].Values, palette.GetColor(i));
            int window = values.Length > SmoothAbove ? (int)Math.Ceiling(values.Length / 25.0) | 1 : 1;
            if (window > 1)
            {
                var raw = plot.Add.ScatterLine(steps, values, color.WithAlpha(0.25));
                raw.LineWidth = 1;
            }
            var line = plot.Add.ScatterLine(steps, window > 1 ? MovingAverage(values, window) : values, color);
            line.LineWidth = 2;
            line.MarkerSize = values.Length <= SmoothAbove ? 5 : 0;
            line.LegendText = window > 1 ? $"{curves[i].Name} (mean of {window} steps)" : curves[i].Name;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(yLabel);
        plot.ShowLegend(Edge.Bottom);   // outside the data area: curves are never hidden
        byte[] png = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        return "data:image/png;base64," + Convert.ToBase64String(png);
    }

    /// <summary>Centred moving average over an odd <paramref name="window"/>, narrowed at the ends (no lag, no padding).</summary>
    public static double[] MovingAverage(double[] values, int window)
    {
        int half = window / 2;
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            int from = Math.Max(0, i - half), to = Math.Min(values.Length - 1, i + half);
            double sum = 0;
            for (int j = from; j <= to; j++) sum += values[j];
            result[i] = sum / (to - from + 1);
        }
        return result;
    }
}
