fn main() {
    std::process::exit(quakeline::cli::main());
}
