namespace R1Sharp.Rewards;

/// <summary>
/// The name a reward class is found by in its assembly (<c>rewards: [{name: my_reward, assembly: My.dll}]</c>,
/// <c>--reward-assembly</c>; docs/custom-rewards.md). Without it, the name is the class name in snake_case
/// (<c>MyReward</c> → <c>my_reward</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class RewardNameAttribute(string name) : Attribute
{
    /// <summary>The registered name, e.g. <c>my_reward</c>.</summary>
    public string Name { get; } = name;
}
