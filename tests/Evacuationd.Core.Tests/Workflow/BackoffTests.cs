using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Tests.Workflow;

public class BackoffTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Max = TimeSpan.FromMinutes(10);
    private static readonly string[] Ids = Enumerable.Range(0, 200).Select(i => $"compute-{i % 7:00}:1:{i * 7919:x8}").ToArray();

    [Fact]
    public void JitterStaysWithinEightyToOneHundredTwentyPercentOfTheExponentialDelay()
    {
        foreach (var id in Ids)
        {
            for (var attempt = 1; attempt <= 5; attempt++)
            {
                var raw = Base.TotalMilliseconds * Math.Pow(2, attempt - 1);
                var delay = Backoff.After(id, attempt, Base, Max).TotalMilliseconds;
                Assert.True(delay >= raw * 0.8 && delay < raw * 1.2, $"{id} attempt {attempt}: {delay} ms not in [0.8, 1.2) x {raw} ms");
            }
        }
    }

    [Fact]
    public void DelayGrowsWithEveryFailedAttemptUntilTheCap()
    {
        foreach (var id in Ids)
        {
            var delays = Enumerable.Range(1, 6).Select(a => Backoff.After(id, a, Base, Max)).ToList();
            for (var i = 1; i < delays.Count; i++)
            {
                Assert.True(delays[i] > delays[i - 1], $"{id}: attempt {i + 1} waits {delays[i]}, attempt {i} waited {delays[i - 1]}");
            }
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(30)]
    [InlineData(int.MaxValue)]
    public void DelayIsCappedAtTheMaximum(int attempt)
    {
        var max = TimeSpan.FromMinutes(2);
        foreach (var id in Ids)
        {
            var delay = Backoff.After(id, attempt, Base, max);
            Assert.InRange(delay, max * 0.8, max);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void AttemptsBelowOneUseTheBaseDelay(int attempt)
    {
        Assert.InRange(Backoff.After("compute-01:1:abc", attempt, Base, Max), Base * 0.8, Base * 1.2);
    }

    [Fact]
    public void ZeroBaseMeansNoDelay()
    {
        Assert.Equal(TimeSpan.Zero, Backoff.After("compute-01:1:abc", 3, TimeSpan.Zero, Max));
    }

    [Fact]
    public void SameRecordAndAttemptAlwaysGetTheSameDelay()
    {
        foreach (var id in Ids)
        {
            Assert.Equal(Backoff.After(id, 2, Base, Max), Backoff.After(new string(id.ToCharArray()), 2, Base, Max));
        }
    }

    /// <summary>Pinned values: a per-process hash (string.GetHashCode) would break these between runs.</summary>
    [Fact]
    public void DelayIsTheSameOnEveryRunAndMachine()
    {
        Assert.Equal(Pinned1, Backoff.After("compute-01:1:3f2a9c1b", 1, Base, Max).TotalMilliseconds, 3);
        Assert.Equal(Pinned2, Backoff.After("compute-01:1:3f2a9c1b", 2, Base, Max).TotalMilliseconds, 3);
    }

    [Fact]
    public void JitterSpreadsRecordsThatFailedTogether()
    {
        var distinct = Ids.Select(id => Backoff.After(id, 1, Base, Max)).Distinct().Count();

        Assert.True(distinct > Ids.Length / 2, $"only {distinct} distinct delays for {Ids.Length} records");
    }

    [Fact]
    public void JitterDiffersBetweenAttemptsOfOneRecord()
    {
        var factors = Enumerable.Range(1, 6)
            .Select(a => Backoff.After("compute-01:1:3f2a9c1b", a, Base, TimeSpan.FromDays(1)).TotalMilliseconds / (Base.TotalMilliseconds * Math.Pow(2, a - 1)))
            .Distinct()
            .Count();

        Assert.True(factors > 1);
    }

    // FNV-1a over the id's UTF-16 code units, then the attempt; factor 0.8 + (hash % 4000) / 10000
    // (computed independently of the implementation).
    private const double Pinned1 = 11_595.0;
    private const double Pinned2 = 18_428.0;
}
