// gate64 completion bash: a bash completion script (source <(gate64 completion bash)).
import { LOG_UNITS } from "../../observe/journal.js";
import { type CommandContext, parseFlags } from "../command.js";
import { EXIT, UsageError } from "../errors.js";

export const usage = "usage: gate64 completion bash   prints a completion script: source <(gate64 completion bash)";

/** Words after each command; fleet and config verbs are the ones their usage lists. */
const WORDS: Record<string, string> = {
  "": "config status health logs fleet update factory-reset reboot provision completion --help",
  config: "validate render schema show history diff set apply edit confirm rollback",
  fleet: "ls status watch config rollout update cmd shell decommission dashboard schema",
  update: "install status",
  logs: Object.keys(LOG_UNITS).join(" "),
  completion: "bash",
};

export async function run({ args, out }: CommandContext): Promise<number> {
  const [shell] = parseFlags(args, {}, usage).positionals;
  if (shell !== "bash") throw new UsageError(usage);
  const cases = Object.entries(WORDS)
    .filter(([k]) => k !== "")
    .map(([k, v]) => `    ${k}) words="${v}" ;;`)
    .join("\n");
  out.print(`# gate64 bash completion
_gate64() {
  local cur=\${COMP_WORDS[COMP_CWORD]} words
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${WORDS[""]}"
  elif [ "$COMP_CWORD" -eq 2 ]; then
    case \${COMP_WORDS[1]} in
${cases}
    *) words="--help --json" ;;
    esac
  else
    words="--help --json"
  fi
  mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}
complete -F _gate64 gate64`);
  return EXIT.ok;
}
