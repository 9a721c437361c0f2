using R1Sharp.Rewards.Verification;

namespace R1Sharp.Rewards.Tests.MathAnswers;

/// <summary>
/// Hand-checked gold/prediction/expected triples, one group per kind of answer. Each expected value is the
/// mathematically right verdict under the documented rules (gold defines the form; percentages are values
/// divided by 100, as in Math-Verify; decimals compare after rounding to 6 places).
/// </summary>
public class EquivalenceTableTests
{
    public static TheoryData<string, string, bool> Numbers => new()
    {
        { "5", "5", true },
        { "-5", "-5", true },
        { "5", "-5", false },
        { "5", "5.0", true },
        { "5", "05", true },
        { "5", "6", false },
        { "7425000", "7,425,000", true },
        { "7425000", "7{,}425{,}000", true },
        { "10080", "10,\\!080", true },
        { "1000", "1 000", true },
        { "1000.5", "1,000.5", true },
        { "1000.99", "1000,99", true },
        { "2.74", "2,74", true },
        { "0.111", "0,111", true },
        { "32349", "32, 349", false },
        { "0.4", ".4", true },
        { "0.4", "0.40", true },
        { "0.4", "0.41", false },
        { "3.21", "3.210", true },
        { ".0000672", "0.0000672", true },
        { "0.0000672", "6.72 \\times 10^{-5}", true },
        { "1.5e3", "1500", true },
        { "1500", "1.5 \\times 10^3", true },
        { "2E-2", "0.02", true },
        { "4.5", "\\frac{9}{2}", true },
        { "4.5", "4\\frac{1}{2}", true },
        { "1.25", "\\frac54", true },
        { "1.25", "1.24", false },
        { "326.5", "\\frac{653}{2}", true },
        { "0.15", "\\frac{3}{20}", true },
        { "16386.20", "16,386.2", true },
        { "16386.20", "16386.21", false },
        { "2^{10}", "1024", true },
        { "2^10", "1024", true },
        { "11111111100", "11,\\! 111,\\! 111,\\! 100", true },
        { "123456789012345678901234567890", "123456789012345678901234567890", true },
        { "123456789012345678901234567890", "123456789012345678901234567891", false },
        { "\\frac{1}{2^{100}}", "2^{-100}", true },
        { "\\frac{1}{2^{100}}", "2^{-99}", false },
        { "10!", "3628800", true },
        { "\\binom{5}{2}", "10", true },
        { "\\dbinom{10}{3}", "120", true },
    };

    public static TheoryData<string, string, bool> Fractions => new()
    {
        { "\\frac{1}{2}", "0.5", true },
        { "\\frac12", "1/2", true },
        { "\\frac{1}{2}", "\\dfrac{1}{2}", true },
        { "\\frac{1}{2}", "\\tfrac12", true },
        { "\\frac{1}{2}", "\\cfrac{1}{2}", true },
        { "\\frac{1}{2}", "\\frac{2}{4}", true },
        { "\\frac{1}{2}", "\\frac{1}{3}", false },
        { "\\frac{10}{9}", "10/9", true },
        { "-\\frac{10}{9}", "-10/9", true },
        { "-\\frac{10}{9}", "\\frac{-10}{9}", true },
        { "-\\frac{10}{9}", "\\frac{10}{-9}", true },
        { "-\\frac{10}{9}", "\\frac{10}{9}", false },
        { "\\frac{270}7", "\\frac{270}{7}", true },
        { "\\frac 59", "\\frac{5}{9}", true },
        { "\\frac9{19}", "9/19", true },
        { "\\frac43", "1\\frac{1}{3}", true },
        { "\\frac{7}{3}", "2\\frac{1}{3}", true },
        { "-\\frac{7}{3}", "-2\\frac{1}{3}", true },
        { "137 \\frac{1}{2}", "275/2", true },
        { "137 \\frac{1}{2}", "137.5", true },
        { "\\frac{2}{3}", "2\\cdot\\frac{1}{3}", true },
        { "\\frac{1}{3}", "0.333333", true },
        { "\\frac{1}{3}", "0.3333", false },
        { "\\frac{1}{3}", "0.\\overline{3}", true },
        { "\\frac{1}{6}", "0.1\\overline{6}", true },
        { "\\frac{1}{12}", "0.0833333333333", true },
        { "\\frac{3}{56}", "\\frac{6}{112}", true },
        { "\\frac{3}{56}", "\\frac{3}{65}", false },
        { "\\frac{1}{2}", "1 \\div 2", true },
        { "\\frac{3}{4}", "3:4", true },
        { "\\frac{\\frac{1}{2}}{\\frac{3}{4}}", "\\frac{2}{3}", true },
    };

    public static TheoryData<string, string, bool> Percentages => new()
    {
        // A percentage is its value over 100 (Math-Verify: "10% -> 0.1"), and by default also matches its bare
        // number (MATH writes \boxed{10}\% for gold 10).
        { "28\\%", "28\\%", true },
        { "28\\%", "28%", true },
        { "28\\%", "28 percent", true },
        { "28\\%", "28 pct", true },
        { "28\\%", "28 \\text{percent}", true },
        { "28\\%", "0.28", true },
        { "28\\%", "\\frac{7}{25}", true },
        { "28\\%", "29\\%", false },
        { "28\\%", "28", true },
        { "50", "50\\%", true },
        { "50", "0.5", false },
        { "50", "5\\%", false },
        { "0.5", "50\\%", true },
        { "\\frac12", "50%", true },
        { "12.5\\%", "\\frac{1}{8}", true },
    };

    public static TheoryData<string, string, bool> Radicals => new()
    {
        { "\\sqrt{2}", "\\sqrt2", true },
        { "\\sqrt{2}", "2^{1/2}", true },
        { "\\sqrt{2}", "\\frac{2}{\\sqrt{2}}", true },
        { "\\sqrt{2}", "1.41421356", true },
        { "\\sqrt{2}", "1.414", false },
        { "\\sqrt{3}", "\\sqrt{2}", false },
        { "3\\sqrt{13}", "\\sqrt{117}", true },
        { "3\\sqrt{13}", "3 \\sqrt{13}", true },
        { "3\\sqrt{13}", "13\\sqrt{3}", false },
        { "11\\sqrt2", "\\sqrt{242}", true },
        { "\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", true },
        { "\\frac{\\sqrt{3}}{3}", "\\frac{\\sqrt{3}}{2}", false },
        { "\\sqrt[3]{2}", "2^{1/3}", true },
        { "\\sqrt[3]{8}", "2", true },
        { "\\sqrt[3]{-8}", "-2", true },
        { "\\sqrt[4]{16}", "2", true },
        { "\\sqrt{4}", "2", true },
        { "4", "4\\sqrt{2}", false },
        { "2", "\\frac{1+\\sqrt{5}}{2}", false },
        { "1+2\\sqrt{3}", "2\\sqrt{3}+1", true },
        { "1+2\\sqrt{3}", "1+3\\sqrt{2}", false },
        { "\\sqrt{2}+\\sqrt{5}", "\\sqrt 2+\\sqrt 5", true },
        { "\\frac{5\\sqrt{42}}{27}", "\\frac{5\\sqrt{42}}{27}", true },
        { "\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}", "\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{2\\sqrt{33}+15}", true },
        { "4.123105625617661", "\\sqrt{17}", true },
    };

    public static TheoryData<string, string, bool> Constants => new()
    {
        { "\\pi", "\\pi", true },
        { "2\\pi", "\\pi + \\pi", true },
        { "\\frac{\\pi}{2}", "\\frac12 \\pi", true },
        { "\\frac{\\pi}{2}", "90^\\circ", false },
        { "288 \\pi", "288\\pi", true },
        { "288 \\pi", "288", false },
        { "\\frac{9}{4}\\pi", "\\frac94\\pi", true },
        { "\\frac{20000}{\\pi}", "20000/\\pi", true },
        { "18+2\\pi", "2\\pi+18", true },
        { "3.14", "\\pi", false },
        { "3.141593", "\\pi", true },
        { "e", "e", true },
        { "e^2", "e \\cdot e", true },
        { "e", "2.718282", true },
        { "1-\\frac{1}{e}", "\\frac{e-1}{e}", true },
        { "\\ln e", "1", true },
        { "e^{i\\pi}", "-1", true },
    };

    public static TheoryData<string, string, bool> UnitsTextDegreesDollars => new()
    {
        { "10", "10 \\text{ cm}", true },
        { "10", "10\\text{cm}", true },
        { "10", "10 cm", true },
        { "15\\mbox{ cm}^2", "15", true },
        { "15\\mbox{ cm}^2", "15 \\text{cm}^2", true },
        { "864 \\mbox{ inches}^2", "864", true },
        { "5.4 \\text{ cents}", "5.4", true },
        { "\\frac{270}7\\text{ degrees}", "\\frac{270}{7}", true },
        { "125", "125 \\textnormal{ miles}", true },
        { "18", "18 dollars", true },
        { "18", "18 apples", true },
        { "90^\\circ", "90", true },
        { "90^\\circ", "90^{\\circ}", true },
        { "90^\\circ", "90°", true },
        { "90^\\circ", "90 degrees", true },
        { "90^\\circ", "\\boxed{90^\\circ}", true },
        { "90^\\circ", "45^\\circ", false },
        { "\\$32,\\!348", "32348", true },
        { "\\$32,\\!348", "\\$32,348", true },
        { "\\$18.90", "18.9", true },
        { "\\$18.90", "\\$18.09", false },
        { "\\$36", "36 \\text{ dollars}", true },
        { "\\text{Evelyn}", "\\text{Evelyn}", true },
        { "\\text{Evelyn}", "Evelyn", true },
        { "\\text{Evelyn}", "\\text{evelyn}", true },
        { "\\text{Evelyn}", "\\text{Navin}", false },
        { "\\text{(C)}", "C", true },
        { "\\text{(C)}", "(C)", true },
        { "\\text{(C)}", "\\textbf{(C)}", true },
        { "\\text{(C)}", "\\text{C}", true },
        { "\\text{(C)}", "D", false },
        { "\\text{even}", "\\text{Even}", true },
        { "\\text{even}", "even", true },
        { "\\text{even}", "\\text{odd}", false },
        { "\\text{east}", "\\mathrm{east}", true },
        { "\\text{ellipse}", "\\text{parabola}", false },
        { "\\text{13}", "13", false },
    };

    public static TheoryData<string, string, bool> IntervalsAndUnions => new()
    {
        { "(3,4]", "(3,4]", true },
        { "(3,4]", "(3, 4]", true },
        { "(3,4]", "[3,4]", false },
        { "(3,4]", "(3,4)", false },
        { "[0,1)", "[0,1)", true },
        { "[0,9)", "[0,1)", false },
        { "(0,9)", "[0,9)", false },
        { "(2,\\infty)", "(2, \\infty)", true },
        { "(2,\\infty)", "\\left( 2, \\infty \\right)", true },
        { "(2,\\infty)", "(2,+\\infty)", true },
        { "(2,\\infty)", "[2,\\infty)", false },
        { "(-\\infty, 0]", "(-\\infty,0]", true },
        { "(-\\infty, 0]", "(-\\infty,0)", false },
        { "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", "(0.6, \\frac{8}{3}]", true },
        { "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]", "[\\pi^2/8, 5\\pi^2/4]", true },
        { "(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty,2)\\cup(3,\\infty)", true },
        { "(-\\infty, 2) \\cup (3, \\infty)", "(3,\\infty)\\cup(-\\infty,2)", true },
        { "(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty,2]\\cup(3,\\infty)", false },
        { "(-\\infty, 2) \\cup (3, \\infty)", "\\mathbb{R} \\setminus [2,3]", true },
        { "(0,9) \\cup (9,36)", "(0,36) \\setminus \\{9\\}", true },
        { "[0,2]", "[0,1] \\cup [1,2]", true },
        { "[0,2]", "[0,1) \\cup (1,2]", false },
        { "(-\\infty,\\infty)", "\\mathbb{R}", true },
        { "\\{-1\\} \\cup [0,7)", "[0,7)\\cup\\{-1\\}", true },
        { "[-1, -\\frac{1}{2}) \\cup (-\\frac{1}{2}, 0)", "[-1, -\\tfrac12) \\cup (-\\tfrac12, 0)", true },
        { "(-\\sqrt{3}, \\sqrt{3})", "(-1.7320508, 1.7320508)", true }, // decimals compare after rounding to 6 places
        { "(-\\sqrt{3}, \\sqrt{3})", "(-1.732, 1.732)", false },
    };

    public static TheoryData<string, string, bool> SetsTuplesAndLists => new()
    {
        { "\\{1,2\\}", "\\{2,1\\}", true },
        { "\\{1,2\\}", "\\{1,2,3\\}", false },
        { "\\{1,2\\}", "\\{1,1,2\\}", true },
        { "\\{1\\pm\\sqrt{5},-2\\}", "\\{-2, 1+\\sqrt5, 1-\\sqrt5\\}", true },
        { "\\{1\\pm\\sqrt{5},-2\\}", "\\{-2, 1+\\sqrt5\\}", false },
        { "1,-2", "-2,1", true },
        { "1,-2", "1, -2", true },
        { "1,-2", "-2 \\text{ and } 1", true },
        { "1,-2", "1 and -2", true },
        { "1,-2", "1", false },
        { "3, 5, 7", "7, 5, 3", true },
        { "3, 5, 7", "3, 5", false },
        { "2, 3", "2 \\text{ and } 3", true },
        { "2, 3", "3, 2", true },
        { "2, 3", "2 or 3", true },
        { "19, 46, and 82", "19, 46, \\text{ and } 82", true },
        { "(6,31,-1)", "(6,31,-1)", true },
        { "(6,31,-1)", "(6, 31, -1)", true },
        { "(6,31,-1)", "(-1,6,31)", false },
        { "(15,-29)", "(15, -29)", true },
        { "(15,-29)", "(-29, 15)", false },
        { "\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\frac{\\pi}{2})", true },
        { "\\left( 3, \\frac{\\pi}{2} \\right)", "(3, 90^\\circ)", false },
        { "(1,\\frac{9}{2})", "(1,4.5)", true },
        { "(1,-16,-4,43)", "(1, -16, -4, 43)", true },
        { "(1,-16,-4,43)", "(1, -16, 43, -4)", false },
        { "(3,1)", "\\{1,3\\}", false },
        { "(1,3)", "\\{1,3\\}", true },
        { "(2, 2), (1, 3)", "(1, 3), (2, 2)", true },
        { "(2, 2), (1, 3)", "(2, 2), (3, 1)", false },
        { "\\pm 2021", "2021", false },
        { "\\pm 2021", "\\{-2021, 2021\\}", true },
        { "1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}", true },
        { "3 \\pm 2 \\sqrt{2}", "3-2\\sqrt{2}, 3+2\\sqrt2", true },
        { "3 \\pm 2 \\sqrt{2}", "3+2\\sqrt2", false },
        { "\\langle 1, 2 \\rangle", "(1, 2)", true },
        { "\\{5\\}", "5", true },
        { "5", "\\{5\\}", true },
        { "\\emptyset", "\\varnothing", true },
        { "\\emptyset", "\\{\\}", true },
        { "1, 2, 3", "\\boxed{1}, \\boxed{2}, \\boxed{3}", true },
    };

    public static TheoryData<string, string, bool> Matrices => new()
    {
        { "\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{bmatrix} 1 & 0 \\\\ 0 & 1 \\end{bmatrix}", true },
        { "\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{pmatrix} 0 & 1 \\\\ 1 & 0 \\end{pmatrix}", false },
        { "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "-\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", true },
        { "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", "\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\\\ \\frac53 \\end{pmatrix}", true },
        { "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", "\\frac{1}{3}\\begin{pmatrix} -1 \\\\ 2 \\\\ 5 \\end{pmatrix}", true },
        { "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", "\\begin{pmatrix} -2 \\\\ -14 \\\\ 7 \\end{pmatrix}", false },
        { "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", "(-2, -14, -7)", true },
        { "\\begin{pmatrix} 6 & 8 \\\\ 10 & 12 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix} + \\begin{pmatrix} 5 & 6 \\\\ 7 & 8 \\end{pmatrix}", true },
        { "\\begin{pmatrix} 19 & 22 \\\\ 43 & 50 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix} \\begin{pmatrix} 5 & 6 \\\\ 7 & 8 \\end{pmatrix}", true },
        { "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\left[\\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\end{array}\\right]", true },
        { "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\\\ \\end{pmatrix}", true },
        { "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}", false },
        { "\\begin{pmatrix} 0.5 \\\\ 0.2 \\end{pmatrix}", "\\begin{pmatrix} \\frac12 \\\\ \\frac15 \\end{pmatrix}", true },
    };

    public static TheoryData<string, string, bool> EquationsAndInequalities => new()
    {
        // Gold defines the form.
        { "101", "a+2z=101", true },
        { "a+2z=101", "101", false },
        { "5", "x=5", true },
        { "x=5", "5", true },
        { "x=5", "x = 5", true },
        { "x=5", "y=5", false },
        { "x=5", "5=x", true },
        { "x=5", "x=6", false },
        { "k=1", "1", true },
        { "2x+z=1", "1", false },
        { "a^2+b=0", "0", false },
        { "y = 2x + 3", "2x+3", true },
        { "y = 2x + 3", "y=3+2x", true },
        { "y = 2x + 3", "y-2x-3=0", true },
        { "y = 2x + 3", "y = 3x + 2", false },
        { "y = -2x", "2x + y = 0", true },
        { "5x - 7y + 11z + 4 = 0", "-5x+7y-11z-4=0", true },
        { "5x - 7y + 11z + 4 = 0", "10x - 14y + 22z + 8 = 0", true },
        { "5x - 7y + 11z + 4 = 0", "5x - 7y + 11z = -4", true },
        { "5x - 7y + 11z + 4 = 0", "5x - 7y + 11z - 4 = 0", false },
        { "\\frac{x^2}{4} + \\frac{y^2}{3} = 1", "\\frac{x^2}{16} + \\frac{y^2}{12} = \\frac14", true },
        { "x = 11", "x = 5+5+1 = 11", true },
        { "11", "x = 5 + 6 = 11", true },
        { "11", "x \\approx 11", true },
        { "\\frac{1}{3}", "x = \\frac13 \\approx 0.33", true },
        { "x > 5", "x \\gt 5", true },
        { "x > 5", "5 < x", true },
        { "x > 5", "x < 5", false },
        { "x > 5", "x \\ge 5", false },
        { "x \\geq 5", "x >= 5", true },
        { "x \\geq 5", "5 \\leq x", true },
        { "x \\leq 2", "x <= 2", true },
        { "x \\le 2", "x \\leqslant 2", true },
        { "x < 1", "-x > -1", true },
        { "x < 1", "2x < 2", true },
        { "x < 1", "-2x < -2", false },
        { "x \\neq 3", "x != 3", true },
        { "x \\ne 3", "x \\neq 3", true },
        { "1<x<2", "(1,2)", true },
        { "1<x<2", "(1,2]", false },
        { "1 \\le x < 2", "[1,2)", true },
        { "x > 3", "(3, \\infty)", true },
        { "x \\ge 3", "(3, \\infty)", false },
        { "-2 \\le x \\le 7", "x \\in [-2,7]", true },
        { "x \\in [-2,7]", "[-2,7]", true },
        { "x \\in [-2,7]", "[-2,7)", false },
        { "1 \\le |z| \\le \\frac{3}{2}", "[-\\frac32, -1] \\cup [1, \\frac32]", true },
        { "x^2 < 4", "(-2, 2)", true },
        { "x^2 < 4", "(0, 2)", false },
        { "1 < x < 3", "3 > x > 1", true },
        { "f(2) < f(1) < f(4)", "f(2) < f(1) < f(4)", true },
    };

    public static TheoryData<string, string, bool> Complex => new()
    {
        { "6 - 5i", "6-5i", true },
        { "6 - 5i", "-5i + 6", true },
        { "6 - 5i", "6+5i", false },
        { "1+274i", "274i+1", true },
        { "1 - 12i", "1-12i", true },
        { "-2 + 7i", "7i - 2", true },
        { "i", "\\sqrt{-1}", true },
        { "2i", "\\sqrt{-4}", true },
        { "-1", "i^2", true },
        { "1+2i", "\\frac{5}{1-2i}", true },
        { "1+2i", "1-2i", false },
    };

    public static TheoryData<string, string, bool> Expressions => new()
    {
        { "p - q", "p-q", true },
        { "p - q", "-q + p", true },
        { "p - q", "q - p", false },
        { "2k+2", "2(k+1)", true },
        { "2k+2", "2k+1", false },
        { "2k", "k+k", true },
        { "x^3+3x-6", "3x + x^3 - 6", true },
        { "x^5 - x^4 + x^3 - x^2 + x - 1", "(x-1)(x^4+x^2+1)", true },
        { "x^5 - x^4 + x^3 - x^2 + x - 1", "(x-1)(x^4+x^2-1)", false },
        { "x^8 + x^7 + x^6 + x^5 + x^4 + x^3 + x^2 + x + 1", "\\frac{x^9-1}{x-1}", true },
        { "(a+5)(b+2)", "ab+2a+5b+10", true },
        { "(a+5)(b+2)", "(+5)(b+2)", false },
        { "6r^2-4r-24", "2(3r^2-2r-12)", true },
        { "8n^2 + 4n + 1", "8n^2+4n+1", true },
        { "8n^2 + 4n + 1", "8n^2+4n", false },
        { "3R^2", "3r^2", true },
        { "5r^5", "5 r^5", true },
        { "-13x+3", "3-13x", true },
        { "15x - 80", "5(3x-16)", true },
        { "\\frac{11+9a}{20}", "\\frac{11}{20}+\\frac{9a}{20}", true },
        { "\\frac{x+2}{7}", "\\frac{x}{7}+\\frac{2}{7}", true },
        { "x+2n+1", "x+1", false },
        { "\\cot x", "\\frac{\\cos x}{\\sin x}", true },
        { "\\cot x", "\\tan x", false },
        { "\\tan^2(y)+1", "\\sec^2(y)", true },
        { "\\sin^2 x + \\cos^2 x", "1", true },
        { "2 \\sin b \\cos a", "\\sin(a+b) - \\sin(a-b)", true },
        { "\\sin 2x", "2\\sin x\\cos x", true },
        { "\\frac{\\pi r}{h+r}", "\\frac{r\\pi}{r+h}", true },
        { "\\log_2 8", "3", true },
        { "\\log_{2}{8}", "3", true },
        { "\\ln(xy)", "\\ln x + \\ln y", true },
        { "\\log(100)", "2", true },
        { "\\sqrt{x^2}", "x", true },
        { "x^{2/3}", "\\sqrt[3]{x^2}", true },
        { "\\frac{1}{3\\sqrt[3]{x}^2}", "\\frac{1}{3x^{2/3}}", true },
        { "\\sin^{-1}(x)", "\\arcsin x", true },
        { "e^{x}", "\\exp(x)", true },
        { "\\sum_{k=1}^{10} k", "55", true },
        { "x^2y", "x \\cdot x \\cdot y", true },
        { "x^2y", "x^{2y}", false },
        { "-x^2", "-(x^2)", true },
        { "-x^2", "(-x)^2", false },
        { "a \\times b", "ab", true },
        { "a \\div b", "\\frac{a}{b}", true },
        { "|x-2|", "|2-x|", true },
        { "f(x)", "f(y)", false },
    };

    public static TheoryData<string, string, bool> Infinity => new()
    {
        { "\\infty", "\\infty", true },
        { "\\infty", "+\\infty", true },
        { "\\infty", "infinity", true },
        { "\\infty", "-\\infty", false },
        { "\\infty", "1000000", false },
    };

    public static TheoryData<string, string, bool> LatexNoise => new()
    {
        { "\\frac{1}{3}", "\\left( \\frac{1}{3} \\right)", true },
        { "\\frac{1}{3}", "\\displaystyle\\frac{1}{3}", true },
        { "\\frac{1}{3}", "\\frac{1}{3}\\,", true },
        { "\\frac{1}{3}", "\\frac{1}{3}\\!", true },
        { "\\frac{1}{3}", "\\;\\frac{1}{3}", true },
        { "\\frac{1}{3}", "$\\frac{1}{3}$", true },
        { "\\frac{1}{3}", "\\(\\frac{1}{3}\\)", true },
        { "\\frac{1}{3}", "\\[\\frac{1}{3}\\]", true },
        { "\\frac{1}{3}", "\\boxed{\\frac{1}{3}}", true },
        { "\\frac{1}{3}", "\\frac{1}{3}.", true },
        { "\\frac{1}{3}", "\\mathbf{\\frac{1}{3}}", true },
        { "x", "\\mathrm{x}", true },
        { "\\frac{1}{3}", "\\dfrac{1}{3} \\text{ meters}", true },
        { "\\frac{1}{3}", "k = \\frac{1}{3}", true },
        { "3", "\\left\\lvert -3 \\right\\rvert", true },
        { "2", "\\left\\lfloor 2.7 \\right\\rfloor", true },
        { "3", "\\lceil 2.1 \\rceil", true },
    };

    /// <summary>Typical wrong answers that a lenient checker might wave through.</summary>
    public static TheoryData<string, string, bool> NearMisses => new()
    {
        { "42", "41", false },
        { "42", "-42", false },
        { "42", "420", false },
        { "42", "4.2", false },
        { "\\frac{2}{3}", "\\frac{3}{2}", false },
        { "\\frac{2}{3}", "0.67", false },
        { "\\frac{2}{3}", "0.666667", true },
        { "\\sqrt{3}", "3", false },
        { "\\sqrt{3}", "\\frac{\\sqrt{3}}{2}", false },
        { "2\\sqrt{2}", "\\sqrt{2}", false },
        { "4\\pi", "4", false },
        { "4\\pi", "\\pi^4", false },
        { "x^2", "2x", false },
        { "x^2-1", "(x-1)^2", false },
        { "(x+1)^2", "x^2+1", false },
        { "\\frac{1}{x}", "x", false },
        { "e^{2x}", "2e^x", false },
        { "\\ln 2", "\\log 2", false },
        { "\\sin x", "\\cos x", false },
        { "\\frac{\\pi}{3}", "\\frac{\\pi}{6}", false },
        { "(1,2)", "(2,1)", false },
        { "(1,2)", "[1,2]", false },
        { "[1,2]", "[1,3]", false },
        { "(1,2,3)", "(1,2)", false },
        { "\\{1,2,3\\}", "\\{1,2,4\\}", false },
        { "1, 2", "1, 2, 3", false },
        { "x=1", "x=-1", false },
        { "y=2x+1", "y=2x-1", false },
        { "x>2", "x>3", false },
        { "x<2", "x\\le 2", false },
        { "3+4i", "3-4i", false },
        { "3+4i", "4+3i", false },
        { "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}", false },
        { "\\begin{pmatrix} 1 & 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", false },
        { "\\text{(A)}", "\\text{(B)}", false },
        { "\\text{yes}", "\\text{no}", false },
        { "12", "12 \\text{ and } 13", false },
        { "1000", "100", false },
        { "1,000", "1.000", false },
        { "5\\%", "5", true },
        { "5\\%", "0.5", false },
        { "2^{10}", "2^{11}", false },
        { "10!", "9!", false },
        { "\\binom{5}{2}", "\\binom{5}{3}", true },
        { "\\binom{6}{2}", "\\binom{6}{3}", false },
        { "0", "\\emptyset", false },
        { "\\infty", "\\emptyset", false },
    };

    private static void Check(string gold, string pred, bool expected) =>
        Assert.True(MathVerifier.Verify(gold, pred) == expected, $"Verify({gold}, {pred}) should be {expected}");

    [Theory, MemberData(nameof(Numbers))]
    public void Numbers_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(Fractions))]
    public void Fractions_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(Percentages))]
    public void Percentages_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(Radicals))]
    public void Radicals_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(Constants))]
    public void Constants_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(UnitsTextDegreesDollars))]
    public void Units_text_degrees_and_dollars_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(IntervalsAndUnions))]
    public void Intervals_and_unions_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(SetsTuplesAndLists))]
    public void Sets_tuples_and_lists_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(Matrices))]
    public void Matrices_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(EquationsAndInequalities))]
    public void Equations_and_inequalities_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(Complex))]
    public void Complex_numbers_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(Expressions))]
    public void Expressions_match(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(Infinity))]
    public void Infinity_matches(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(NearMisses))]
    public void Near_misses_are_rejected(string gold, string pred, bool expected) => Check(gold, pred, expected);

    [Theory, MemberData(nameof(LatexNoise))]
    public void Latex_noise_is_ignored(string gold, string pred, bool expected) => Check(gold, pred, expected);
}
