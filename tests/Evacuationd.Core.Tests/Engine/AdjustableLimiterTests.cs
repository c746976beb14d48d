using Evacuationd.Core.Engine;

namespace Evacuationd.Core.Tests.Engine;

public class AdjustableLimiterTests
{
    [Fact]
    public async Task CallsBeyondTheLimitWaitUntilOneEndsOrTheLimitRises()
    {
        var limiter = new AdjustableLimiter(1);
        var first = await limiter.EnterAsync(CancellationToken.None);
        var second = limiter.EnterAsync(CancellationToken.None);
        var third = limiter.EnterAsync(CancellationToken.None);

        Assert.False(second.IsCompleted);
        first.Dispose();
        var s = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(third.IsCompleted);
        limiter.Limit = 2;
        var t = await third.WaitAsync(TimeSpan.FromSeconds(10));
        s.Dispose();
        t.Dispose();
        s.Dispose(); // twice is harmless
        using var again = await limiter.EnterAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AWaiterThatGivesUpDoesNotTakeAPlace()
    {
        var limiter = new AdjustableLimiter(1);
        var held = await limiter.EnterAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var waiting = limiter.EnterAsync(cts.Token);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        held.Dispose();

        using var next = await limiter.EnterAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(limiter.EnterAsync(CancellationToken.None).IsCompleted); // one place, taken by `next`
    }
}
