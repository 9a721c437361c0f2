namespace R1Sharp.Rewards.Rules;

/// <summary>
/// Word lists for the Latin-script languages the language-consistency reward identifies by vocabulary:
/// frequent function words, reasoning and arithmetic vocabulary, number words, and the words of the embedded
/// arithmetic task. Written for this project (lower case; elisions split at the apostrophe, so English
/// contractions appear as their stems: "don" for "don't"). A word may be in several lists.
/// </summary>
public static class LanguageWords
{
    /// <summary>English.</summary>
    public static readonly IReadOnlySet<string> English = Parse("""
        the of and to in is it that this for on with as was are be by at or from an not but have has had
        we you he she they them their his her its our your my me us him i'm it's which who whom whose what
        when where why how than then so if else because since while until also just only very more most
        less least much many some any each every all both either neither no none one two three four five
        six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen
        twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million first second third
        fourth fifth last next finally now here there these those do does did done doing can could will would
        shall should may might must let lets get gets got make makes made take takes took give gives gave
        given away buy buys bought sell sells sold find finds found lose loses lost receive receives received
        keep keeps kept left leaves pay pays paid cost costs spend spends spent share shares eat eats ate
        answer answers question questions problem problems solution solve solved solving step steps compute
        calculate calculation result results sum total difference product quotient times plus minus equals
        equal divided multiplied multiply add added adding subtract subtracted subtracting number numbers value
        values twice half double triple again more fewer same different other another new old many
        think thinking thought check checking verify wait hmm okay ok well right wrong correct incorrect true
        false yes maybe actually therefore thus hence means mean need needs know known see seen look use used
        using try tried work works way ways case cases start end because about after before between into over
        under up down out off per each equation equations expression left right side both remaining remains
        altogether apples apple pears pear marbles marble books book stamps stamp cards card coins coin
        candies candy pencils pencil has have now does how many much more he she his her
        money dollars dollar cents hours hour minutes minute days day weeks week year years people friends
        friend class students student teacher box boxes bag bags price each every long short
        hello hi thanks thank please sorry sure good great nice help helpful harm dangerous safe cannot
        can't don't doesn't isn't aren't won't didn't can don doesn isn aren won didn wasn weren hasn haven
        shouldn couldn wouldn let's i'll we'll you're they're that's there's what's
        say says said tell tells told ask asks asked call word words language english french sentence
        translate translation means color colour red blue green big small bigger smaller larger largest
        smallest greater greatest count counting write written read ends end shells shell sky grass snow
        banana coal tomato yellow black white goodbye french english larger colour home neighbour private
        instead practise kindly feel stealing steal pocket busy hand hide desk mean insult classmate sister
        diary window stone heavy nobody looking open drawer everything exactly
        """);

    /// <summary>French.</summary>
    public static readonly IReadOnlySet<string> French = Parse("""
        le la les un une des du de et à au aux en dans est sont être était ont avoir avait a pour par sur
        avec sans sous entre vers chez ce cette ces cet ça cela ceci il elle ils elles on nous vous je tu
        me te se lui leur leurs son sa ses mon ma mes ton ta tes notre nos votre vos qui que quoi dont où
        quand comment pourquoi combien si alors donc mais ou ni car puis ensuite enfin d'abord abord
        aussi encore déjà toujours jamais très plus moins tout tous toute toutes chaque autre autres même
        mêmes peu beaucoup trop assez rien personne quelque quelques zéro deux trois quatre cinq six sept
        huit neuf dix onze douze treize quatorze quinze seize vingt trente quarante cinquante soixante cent
        cents mille million premier première premiers deuxième troisième dernier dernière suivant
        maintenant ici voici voilà fait faire fais font faut peut peuvent pouvons doit doivent devons va
        vont allons donne donnes donnent donné achète achètent acheté achat trouve trouvent trouvé perd
        perdent perdu reçoit reçoivent reçu garde reste restent restant paie paye payé coûte dépense mange
        mangé réponse réponses question questions problème problèmes solution résoudre résolu étape étapes
        calcule calculer calcul calculons résultat résultats somme total différence produit quotient fois
        moins égal égale égalent font vaut divisé multiplié multiplier ajoute ajouter ajouté soustrait
        soustraire soustrayons ajoutons nombre nombres valeur valeurs double moitié triple nouveau nouvelle
        pense pensons réfléchis réfléchissons vérifie vérifions attendez attends bon bien juste faux vrai
        correct correcte incorrect oui non peut-être effectivement ainsi sait savoir voir vu utilise
        utiliser essaie cas début fin avant après depuis pendant jusqu lorsque parce comme équation
        expression côté reste ensemble pommes pomme poires poire billes bille livres livre timbres timbre
        cartes carte pièces pièce bonbons bonbon crayons crayon coquillages coquillage combien maintenant a-t-il a-t-elle
        retrouve retrouvent argent euros euro centimes heures heure minutes jours jour semaines semaine an
        ans année années gens amis ami amie classe élèves élève professeur boîte boîtes sac sacs prix long
        court bonjour salut merci pardon désolé désolée sûr bonne bon super aide aider utile danger
        dangereux sûre peux veux voudrais dis dit dire demande demander appelle mot mots langue anglais
        français phrase traduire traduction signifie couleur rouge bleu vert verte grand grande petit petite
        compte compter écris écrire lis lire dit-on anglais ciel herbe neige banane charbon tomate bleu
        verte blanche jaune noir rouge revoir couleur quelle quel grosse pierre regarde fenêtre voisin
        maison privé plutôt préoccupe tricher contrôle maths entraîner difficiles insultes insulte camarade
        gentillesse voler vendeur occupé poche magasin bonbons payer tiroir journal intime sœur sache
        """);

    /// <summary>Short names of mathematical functions: never counted as words of any language.</summary>
    public static readonly IReadOnlySet<string> MathNames = Parse("""
        sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh log ln lg exp lim sqrt gcd lcm mod
        pgcd ppcm det dim ker deg arg
        """);

    private static HashSet<string> Parse(string text) =>
        new(text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                .SelectMany(w => w.Split(['\'', '-'], StringSplitOptions.RemoveEmptyEntries)), StringComparer.Ordinal);
}
