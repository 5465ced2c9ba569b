// cxx.cpp: libstdc++ on real Windows code: std::map, iostream, and a
// throw caught two frames up (DWARF unwinding in libgcc_s_dw2-1.dll).
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>

static int lookup(const std::map<std::string, int> &m, const std::string &k)
{
	auto it = m.find(k);
	if (it == m.end())
		throw std::out_of_range("no key " + k);
	return it->second;
}

int main()
{
	std::map<std::string, int> m{ { "one", 1 }, { "two", 2 }, { "three", 3 } };
	m["four"] = 4;
	for (const auto &kv : m)
		std::cout << kv.first << "=" << kv.second << "\n";
	try {
		std::cout << "two is " << lookup(m, "two") << std::endl;
		std::cout << "five is " << lookup(m, "five") << std::endl;
	} catch (const std::out_of_range &e) {
		std::cout << "caught: " << e.what() << std::endl;
	}
	return 0;
}
